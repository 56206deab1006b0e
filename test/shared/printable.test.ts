import t from 'tap';
import { printable } from '../../shared/printable.js';

t.test('control characters cannot reach the terminal', async (t) => {
  t.equal(printable('a\u001b]0;pwned\u0007\u001b[31mRED\r\nb'), 'a?]0;pwned??[31mRED??b');
  t.equal(printable('\u009bX'), '?X', 'C1 controls too');
});

t.test('long text is cut short', async (t) => {
  t.equal(printable('x'.repeat(10), 4), 'xxxx…');
});
