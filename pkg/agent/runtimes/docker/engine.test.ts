/**
 * The engine helpers that need no engine: image names for `berth image import` and Docker host
 * addresses. Image names follow github.com/distribution/reference (what `docker import` accepts).
 */
import t from 'tap';
import { dockerOptions, parseImageName } from './engine.js';

t.test('image names: the tag follows the last colon after the last slash; a registry may carry a port', async (t) => {
  const cases: [string, { repository: string; tag: string } | undefined][] = [
    ['web', { repository: 'web', tag: 'latest' }],
    // A numeric tag is a tag, not a registry port (README: `berth image import web:1 rootfs.tar`).
    ['web:1', { repository: 'web', tag: '1' }],
    ['web:1.0', { repository: 'web', tag: '1.0' }],
    ['busybox:local', { repository: 'busybox', tag: 'local' }],
    ['team/web-app_2:v2-rc.1', { repository: 'team/web-app_2', tag: 'v2-rc.1' }],
    ['registry:5000/web', { repository: 'registry:5000/web', tag: 'latest' }],
    ['registry:5000/team/web:3', { repository: 'registry:5000/team/web', tag: '3' }],
    ['localhost/web:1', { repository: 'localhost/web', tag: '1' }],
    ['Registry.Example.com/web:1', { repository: 'Registry.Example.com/web', tag: '1' }],
    ['Not An Image', undefined],
    ['Web:1', undefined],
    ['MyTeam/web', undefined],
    ['web:', undefined],
    [':1', undefined],
    ['web:-1', undefined],
    ['web//app', undefined],
    ['web@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef', undefined],
    [`web:${'x'.repeat(129)}`, undefined],
  ];
  for (const [name, want] of cases) t.same(parseImageName(name), want, name);
});

t.test('Docker host addresses: unix sockets and tcp, anything else says what is accepted', async (t) => {
  t.same(dockerOptions('unix:///var/run/docker.sock'), { socketPath: '/var/run/docker.sock' });
  t.same(dockerOptions('tcp://127.0.0.1:2375'), { host: '127.0.0.1', port: 2375, protocol: 'http' });
  t.throws(() => dockerOptions('unix://docker.sock'), { code: 'InvalidDockerHost', message: /a unix socket path must be absolute/ });
  t.throws(() => dockerOptions('tcp://127.0.0.1'), { code: 'InvalidDockerHost', message: /a tcp address needs a port/ });
  t.throws(() => dockerOptions('foo'), { code: 'InvalidDockerHost', message: 'invalid Docker host "foo": unsupported scheme; use unix:///path/to/docker.sock or tcp://127.0.0.1:2375' });
});
