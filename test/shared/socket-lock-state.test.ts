import t from 'tap';
import { describeDeadline } from '../../shared/socket-lock-state.js';

const time = (ms: number): string => new Date(ms).toTimeString().slice(0, 8);

t.test('a deadline still ahead reads as how soon, and by when at the latest', async (t) => {
  const until = Date.UTC(2026, 11, 5, 10, 2, 39);

  t.equal(describeDeadline(until, until - 5000), `within 5 s, by ${time(until)} at the latest`);
});

t.test('a deadline gone by says it passed, and how long ago', async (t) => {
  const until = Date.UTC(2026, 11, 5, 10, 2, 39);

  const past = describeDeadline(until, until + 5000);

  t.equal(past, `its deadline ${time(until)} passed 5 s ago`);
  t.notMatch(past, /at the latest/, 'never "5 s ago at the latest"');
});
