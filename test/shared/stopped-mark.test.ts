import { execFileSync } from 'node:child_process';
import { chmodSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import {
  RESTART_WINDOW_MS,
  recentlyStopped,
  removeStoppedMark,
  stoppedMarkPath,
  writeStoppedMark,
} from '../../shared/stopped-mark.js';

t.test('a mark is read within its window and not after', async (t) => {
  const socket = join(t.testdir(), 'daemon.sock');
  writeStoppedMark(socket, 1_000_000);
  t.same(recentlyStopped(socket, 1_000_000 + 10), { pid: process.pid, atMs: 1_000_000 });
  t.equal(recentlyStopped(socket, 1_000_000 + RESTART_WINDOW_MS), undefined, 'window over');
  t.equal(recentlyStopped(socket, 1_000_000 - 5000), undefined, 'a mark from the future');
  t.equal(statSync(stoppedMarkPath(socket)).mode & 0o777, 0o600, 'private beside a private socket');
  removeStoppedMark(socket);
  t.equal(recentlyStopped(socket, 1_000_000 + 10), undefined, 'removed');
});

t.test('beside a group socket the mark is readable by the group, no one else', async (t) => {
  const socket = join(t.testdir(), 'daemon.sock');
  // A stand-in for the socket: only its group and mode are read.
  writeFileSync(socket, '');
  chmodSync(socket, 0o660);
  writeStoppedMark(socket);
  const mark = statSync(stoppedMarkPath(socket));
  t.equal(mark.mode & 0o777, 0o640);
  t.equal(mark.gid, statSync(socket).gid);
});

t.test('what is not a mark of ours is no mark, and never blocks', async (t) => {
  const socket = join(t.testdir(), 'daemon.sock');
  const now = Date.now();
  for (const text of [
    '',
    'stopped 1\n',
    `stopped x ${now}\n`,
    `stopped 1 ${now}`,
    'x'.repeat(500),
  ]) {
    writeFileSync(stoppedMarkPath(socket), text);
    t.equal(recentlyStopped(socket, now), undefined, JSON.stringify(text.slice(0, 20)));
  }
  removeStoppedMark(socket);
  execFileSync('mkfifo', [stoppedMarkPath(socket)]);
  t.equal(recentlyStopped(socket, now), undefined, 'a FIFO is read as no mark, at once');
});

t.test('a mark replaces whatever was at its path', async (t) => {
  const socket = join(t.testdir(), 'daemon.sock');
  writeFileSync(stoppedMarkPath(socket), 'planted', { mode: 0o644 });
  writeStoppedMark(socket, 5000);
  t.same(recentlyStopped(socket, 5001), { pid: process.pid, atMs: 5000 });
  t.equal(statSync(stoppedMarkPath(socket)).mode & 0o777, 0o600);
});
