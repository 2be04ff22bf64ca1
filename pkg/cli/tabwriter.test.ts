import t from 'tap';
import { DESCRIBE_TABS, GET_TABS, TabWriter } from './tabwriter.js';

t.test('describe layout: a column block is the run of lines with a cell in that column', async (t) => {
  const tw = new TabWriter(DESCRIBE_TABS);
  tw.write('Name:\tweb\nNamespace:\tdefault\nConditions:\n  Type\tStatus\n  Ready \tTrue \nQoS Class:\tBurstable\n');
  // Block 1: "Name:", "Namespace:" → widest 10 + padding 2 = 12.
  // "Conditions:" has no tab and ends every block.
  // Block 2: "  Type", "  Ready ", "QoS Class:" → widest 10 + 2 = 12.
  t.equal(
    tw.flush(),
    ['Name:       web', 'Namespace:  default', 'Conditions:', '  Type      Status', '  Ready     True ', 'QoS Class:  Burstable', ''].join('\n'),
  );
});

t.test('nested columns are sized per block, the last cell is never padded', async (t) => {
  const tw = new TabWriter(DESCRIBE_TABS);
  tw.write('a\tbb\tc\naaa\tb\tccccc\nx\ty\n');
  // Column 0: "a", "aaa", "x" → 3 + 2 = 5. Column 1 only for the first two lines: "bb", "b" → 2 + 2 = 4.
  t.equal(tw.flush(), 'a    bb  c\naaa  b   ccccc\nx    y\n');
});

t.test('an empty cell takes its column width (the node pods table)', async (t) => {
  const tw = new TabWriter(DESCRIBE_TABS);
  tw.write('  Namespace\tName\t\tCPU\n  default\tweb-1\t\t250m (12%)\n');
  t.equal(tw.flush(), '  Namespace  Name     CPU\n  default    web-1    250m (12%)\n');
});

t.test('get layout: minimum width 6, padding 3', async (t) => {
  const tw = new TabWriter(GET_TABS);
  tw.write('NAME\tIP\tAGE\nab\t1\t5s\n');
  // NAME: 4 + 3 = 7; IP: 2 + 3 = 5, raised to the minimum 6.
  t.equal(tw.flush(), 'NAME   IP    AGE\nab     1     5s\n');
});

t.test('remembered widths keep watch rows aligned, and grow for wider cells', async (t) => {
  const tw = new TabWriter(GET_TABS);
  tw.write('NAME\tREADY\tAGE\nweb\t1/1\t5s\n');
  t.equal(tw.flush(), 'NAME   READY   AGE\nweb    1/1     5s\n');
  tw.write('db\t0/1\t0s\n');
  t.equal(tw.flush(), 'db     0/1     0s\n', 'a narrower row keeps the earlier widths');
  tw.write('averylongname\t0/1\t0s\n');
  t.equal(tw.flush(), 'averylongname   0/1     0s\n');
  tw.resetWidths();
  tw.write('x\ty\tz\n');
  t.equal(tw.flush(), 'x     y     z\n');
});

t.test('widths count runes, not UTF-16 units', async (t) => {
  const tw = new TabWriter(DESCRIBE_TABS);
  tw.write('é\t1\nab\t2\n');
  t.equal(tw.flush(), 'é   1\nab  2\n');
});

t.test('text after the last newline is written without one', async (t) => {
  const tw = new TabWriter(DESCRIBE_TABS);
  tw.write('a\tb\ncc\td');
  t.equal(tw.flush(), 'a   b\ncc  d');
});
