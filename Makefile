# berth: every target installs what it needs, so a fresh clone needs nothing else.
.PHONY: all install build test demo bench clean

NPM_STAMP := node_modules/.package-lock.json

all: build

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $(NPM_STAMP)

install: $(NPM_STAMP)

build: install
	npx tsc -p tsconfig.json
	chmod +x dist/cmd/berth/main.js

test: build
	npx tap

demo: build
	node dist/cmd/demo/main.js $(if $(KEEP),--keep,)

bench: build
	node dist/test/bench/run.js

clean:
	rm -rf dist
