import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import t from 'tap';
import { REPO_ROOT } from '../fixtures/repo-root.js';

const moduleUrl = (name: string): string =>
  JSON.stringify(pathToFileURL(join(REPO_ROOT, 'dist', 'daemon', name)).href);

/**
 * Runs `script` (an ES module) in a child whose stderr is `shell` (a
 * redirection, after an optional ulimit); returns its exit status and stdout.
 * Without tap's hooks (NODE_OPTIONS): they write files and stderr of their
 * own, which the file size limit and the log under test must not see.
 */
function child(shell: string, script: string): { status: number | null; stdout: string } {
  const result = spawnSync(
    'sh',
    [
      '-c',
      `unset NODE_OPTIONS; ${shell} exec "$0" --input-type=module -e "$1"`,
      process.execPath,
      script,
    ],
    { encoding: 'utf8' },
  );
  return { status: result.status, stdout: result.stdout };
}

t.test('a daemon log line that cannot be written is dropped, never thrown', async (t) => {
  // Found by review: with its log on a full disk (a --detach log file), the
  // daemon stopped answering, then died of an unhandled write error.
  const script = `
    const { createDaemonLog } = await import(${moduleUrl('main.js')});
    const { writeStderr } = await import(${moduleUrl('stderr-log.js')});
    const log = createDaemonLog({});
    for (let i = 0; i < 200; i++) log.info({ i }, 'a line that cannot be written');
    process.stdout.write(JSON.stringify({ written: writeStderr('x\\n') }));
  `;
  const full = child('exec 2>/dev/full;', script);
  t.equal(full.status, 0, 'the process carries on');
  t.same(JSON.parse(full.stdout), { written: false }, 'and is told the line was dropped');
});

t.test('once stderr takes lines again, the first says how many were lost', async (t) => {
  const dir = t.testdir();
  const path = join(dir, 'daemon.log');
  // An old log at the file size limit (ulimit -f 8 in sh: 4 KiB): every
  // write fails with EFBIG until the script empties the file (as rotating
  // it would).
  writeFileSync(path, `${'x'.repeat(4095)}\n`);
  const script = `
    const { truncateSync } = await import('node:fs');
    const { createDaemonLog } = await import(${moduleUrl('main.js')});
    const log = createDaemonLog({});
    for (let i = 0; i < 3; i++) log.warn({ i }, 'lost');
    truncateSync(${JSON.stringify(path)}, 0);
    log.warn('kept');
  `;
  const run = child(`ulimit -f 8; exec 2>>'${path}';`, script);
  t.equal(run.status, 0);
  const lines = readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { msg: string; dropped?: number; code?: string });
  t.match(lines, [
    { msg: 'log lines could not be written and were dropped', dropped: 3, code: 'EFBIG' },
    { msg: 'kept' },
  ]);
  t.equal(lines.length, 2);
});

t.test('a line cut short by a full disk leaves the next ones whole', async (t) => {
  // Found by review: the dropped-lines report was written straight after
  // the cut-off part of a line, so no line-by-line reader could parse it.
  const dir = t.testdir();
  const path = join(dir, 'daemon.log');
  // 40 bytes short of the limit (sh's ulimit -f counts 512-byte blocks:
  // 8 is 4 KiB): the first line is cut off partway.
  writeFileSync(path, `${'x'.repeat(4095 - 40)}\n`);
  const script = `
    const { readFileSync, writeFileSync } = await import('node:fs');
    const { createDaemonLog } = await import(${moduleUrl('main.js')});
    const log = createDaemonLog({});
    log.warn({ padding: 'p'.repeat(100) }, 'cut off');
    // Room again, the cut-off part still at the end (as after a cleanup).
    writeFileSync(${JSON.stringify(path)}, readFileSync(${JSON.stringify(path)}).subarray(2000));
    log.warn('kept');
  `;
  const run = child(`ulimit -f 8; exec 2>>'${path}';`, script);
  t.equal(run.status, 0);
  const lines = readFileSync(path, 'utf8').split('\n');
  t.match(lines.at(-3), /^\{"level":40,"time"/, 'the cut-off part is on a line of its own');
  t.match(JSON.parse(lines.at(-3)!), { dropped: 1, code: 'EFBIG' });
  t.match(JSON.parse(lines.at(-2)!), { msg: 'kept' });
  t.equal(lines.at(-1), '');
});
