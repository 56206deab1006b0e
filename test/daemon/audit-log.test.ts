import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import t, { type Test } from 'tap';
import { AuditLog, BATCH_MAX_LINES } from '../../daemon/audit-log.js';
import { AUDIT_EVENTS, type AuditRecord } from '../../daemon/audit-line.js';
import { assertNoSecrets } from '../fixtures/leak-scan.js';
import { REPO_ROOT } from '../fixtures/repo-root.js';

// Made at test time, like every secret a test uses.
const SECRET = `ghs_${randomBytes(18).toString('hex')}`;

function record(extra: Record<string, unknown>): AuditRecord {
  return {
    requestId: 'r',
    integration: 'github',
    provider: 'github-app',
    target: 'https://github.com/acme/widgets',
    repository: 'acme/widgets',
    installation: 1,
    permissions: { contents: 'read' },
    expiresAt: null,
    durationMs: 0,
    requester: { pid: 1, ppid: 0 },
    listener: null,
    tokenSha256: null,
    ...extra,
  } as AuditRecord;
}

/**
 * Runs `script` (an ES module) in a child limited to 4 KiB files (sh's
 * ulimit -f counts 512-byte blocks) with SIGXFSZ ignored, so writes past
 * the limit fail with EFBIG instead of killing it; checks that it exited 0.
 */
function atFileSizeLimit(t: Test, script: string): { stdout: string } {
  const child = spawnSync(
    'sh',
    [
      '-c',
      'ulimit -f 8; trap "" XFSZ; exec "$0" --input-type=module -e "$1"',
      process.execPath,
      script,
    ],
    { encoding: 'utf8' },
  );
  t.equal(child.status, 0, child.signal === null ? child.stderr : `killed by ${child.signal}`);
  return { stdout: child.stdout };
}

t.test(
  'writes only the fields of an audit record: a secret under any other name never lands',
  async (t) => {
    const path = join(t.testdir(), 'audit.log');
    const audit = await AuditLog.open(path);

    // Names redaction would know, and names it would not.
    await audit.record(AUDIT_EVENTS.failed, record({ token: SECRET, bearer: SECRET }));
    await audit.record(
      AUDIT_EVENTS.failed,
      record({ error: { code: 'X', message: 'm', secret: SECRET, detail: SECRET } }),
    );
    await audit.record(
      AUDIT_EVENTS.failed,
      record({ requester: { pid: 1, ppid: 0, password: SECRET, env: { GH_TOKEN: SECRET } } }),
    );
    await audit.record(
      AUDIT_EVENTS.failed,
      record({ permissions: { contents: 'read' }, envelope: { secret: SECRET } }),
    );
    const text = await readFile(path, 'utf8');
    const lines = text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);

    t.equal(lines.length, 4);
    t.same(lines[1]!.error, { code: 'X', message: 'm' }, 'the error keeps its code and message');
    t.same(lines[2]!.requester, { pid: 1, ppid: 0 }, 'the requester keeps its known fields');
    t.equal(lines[0]!.repository, 'acme/widgets', 'the record itself is all there');
    assertNoSecrets(t, { audit: text }, [SECRET]);
  },
);

function requestIds(path: string): string[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => (JSON.parse(line) as { requestId: string }).requestId);
}

const ids = (from: number, to: number): string[] =>
  Array.from({ length: to - from }, (_, i) => `r${from + i}`);

t.test('a record resolves only once its line is in the file, lines in order', async (t) => {
  const path = join(t.testdir(), 'audit.log');
  const audit = await AuditLog.open(path);

  // More than one batch holds, recorded in one turn, then more in later turns.
  const inFileWhenResolved: boolean[] = [];
  const results: Promise<boolean>[] = [];
  const recordOne = (i: number): void => {
    results.push(
      audit.record(AUDIT_EVENTS.cacheHit, record({ requestId: `r${i}` })).then((written) => {
        // Read synchronously, as the resolution is seen: a reply sent now
        // must find its line already written.
        inFileWhenResolved.push(requestIds(path).includes(`r${i}`));
        return written;
      }),
    );
  };
  const count = BATCH_MAX_LINES + 10;
  for (let i = 0; i < count; i++) recordOne(i);
  for (let i = count; i < count + 5; i++) {
    await new Promise((resolve) => setImmediate(resolve));
    recordOne(i);
  }

  t.same(await Promise.all(results), Array(count + 5).fill(true), 'every line written');
  t.same(inFileWhenResolved, Array(count + 5).fill(true), 'each before its record resolved');
  t.same(requestIds(path), ids(0, count + 5), 'once each, in the order recorded');
});

t.test('a lone line is written without waiting for others', async (t) => {
  const path = join(t.testdir(), 'audit.log');
  const audit = await AuditLog.open(path);
  const startedMs = performance.now();
  t.equal(await audit.record(AUDIT_EVENTS.cacheHit, record({ requestId: 'r0' })), true);
  t.same(requestIds(path), ['r0']);
  // Generous: the bound is BATCH_MAX_MS plus a busy machine's turns.
  t.ok(performance.now() - startedMs < 1000, 'written within a second');
});

t.test('flush writes the lines waiting, at once', async (t) => {
  const path = join(t.testdir(), 'audit.log');
  const audit = await AuditLog.open(path);
  const written = [0, 1, 2].map((i) =>
    audit.record(AUDIT_EVENTS.cacheHit, record({ requestId: `r${i}` })),
  );
  audit.flush();
  t.same(requestIds(path), ids(0, 3), 'in the file before any turn of the event loop');
  t.same(await Promise.all(written), [true, true, true]);
  audit.flush();
  t.same(requestIds(path), ids(0, 3), 'a flush with nothing waiting writes nothing');
});

t.test('a write that fails is reported, at most once a minute, and record() says so', async (t) => {
  // /dev/full accepts the open and fails every write with ENOSPC: a full disk.
  const stderr: string[] = [];
  const audit = await AuditLog.open('/dev/full', (text) => stderr.push(text));
  const results: boolean[] = [];
  // Some in one batch, some in batches of their own.
  const together = [0, 1, 2].map(() => audit.record(AUDIT_EVENTS.cacheHit, record({})));
  results.push(...(await Promise.all(together)));
  for (let i = 0; i < 2; i++) results.push(await audit.record(AUDIT_EVENTS.cacheHit, record({})));
  t.same(
    results,
    [false, false, false, false, false],
    'every failed line is reported to the caller',
  );
  t.equal(stderr.length, 1, 'one report for a burst: the reports must not fill a disk themselves');
  t.match(stderr[0], /audit log '\/dev\/full' write failed: ENOSPC; no credential is served/);

  const ok = await AuditLog.open(join(t.testdir(), 'audit.log'));
  t.equal(
    await ok.record(AUDIT_EVENTS.cacheHit, record({})),
    true,
    'a written line is reported as written',
  );
});

t.test(
  'an audit log that cannot be opened is a config error that says how to fix it',
  async (t) => {
    const dir = t.testdir({ file: 'not a directory', logs: {}, locked: {} });
    await t.rejects(AuditLog.open(join(dir, 'file', 'audit.log')), {
      code: 'CONFIG',
      message:
        /cannot open audit log .*audit\.log': E(EXIST|NOTDIR); part of that path is a file, not a directory; set "auditLog"/,
    });
    await t.rejects(AuditLog.open(join(dir, 'logs')), {
      code: 'CONFIG',
      message: /'.*logs': EISDIR; that is a directory; set "auditLog" in the config to a file path/,
    });
    if (process.getuid?.() !== 0) {
      chmodSync(join(dir, 'locked'), 0o500);
      await t.rejects(AuditLog.open(join(dir, 'locked', 'audit.log')), {
        code: 'CONFIG',
        message: /EACCES; make its directory writable by the daemon's user/,
      });
    }
  },
);

t.test('a secret nested under a known field never lands either', async (t) => {
  // Found in review: permissions was copied whole, and a field meant to be
  // a scalar was written whatever it held.
  const path = join(t.testdir(), 'audit.log');
  const audit = await AuditLog.open(path);
  const sneak = <T>(value: unknown): T => value as T;
  void audit.record(
    AUDIT_EVENTS.minted,
    record({ permissions: sneak({ contents: 'read', token: SECRET }) }),
  );
  void audit.record(
    AUDIT_EVENTS.minted,
    record({ permissions: sneak({ contents: { secret: SECRET } }) }),
  );
  await audit.record(
    AUDIT_EVENTS.minted,
    record({
      installation: sneak({ token: SECRET }),
      listener: sneak([SECRET]),
      requester: sneak({ pid: 1, ppid: 0, cwd: { secret: SECRET } }),
      error: sneak({ code: 'X', message: { token: SECRET } }),
    }),
  );
  const text = readFileSync(path, 'utf8');
  const lines = text
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);

  t.same(lines[0]!.permissions, { contents: 'read' }, 'permission names with a level stay');
  t.same(lines[1]!.permissions, {}, 'a level that is not a level is left out');
  t.equal(lines[2]!.installation, null, 'a scalar field holding an object is written as null');
  assertNoSecrets(t, { audit: text }, [SECRET]);
});

t.test('each line carries the permissions as they are when it is recorded', async (t) => {
  // Copies of frozen permission sets are reused between lines (every hit on
  // a cached token carries one); a set that can still change is not.
  const path = join(t.testdir(), 'audit.log');
  const audit = await AuditLog.open(path);
  const frozen = Object.freeze({ contents: 'read', token: SECRET } as Record<string, string>);
  const open: Record<string, string> = { contents: 'read' };
  void audit.record(AUDIT_EVENTS.cacheHit, record({ permissions: frozen }));
  void audit.record(AUDIT_EVENTS.cacheHit, record({ permissions: open }));
  open.contents = 'write';
  open.issues = 'read';
  void audit.record(AUDIT_EVENTS.cacheHit, record({ permissions: open }));
  await audit.record(AUDIT_EVENTS.cacheHit, record({ permissions: frozen }));
  const text = readFileSync(path, 'utf8');
  const permissions = text
    .trim()
    .split('\n')
    .map((line) => (JSON.parse(line) as Record<string, unknown>).permissions);
  t.same(permissions, [
    { contents: 'read' },
    { contents: 'read' },
    { contents: 'write', issues: 'read' },
    { contents: 'read' },
  ]);
  assertNoSecrets(t, { audit: text }, [SECRET]);
});

t.test('a write cut short by a full disk leaves no part of a line behind', async (t) => {
  // A child at the file size limit records until writes fail.
  const dir = t.testdir();
  const path = join(dir, 'audit.log');
  const moduleUrl = pathToFileURL(join(REPO_ROOT, 'dist', 'daemon', 'audit-log.js')).href;
  const lineUrl = pathToFileURL(join(REPO_ROOT, 'dist', 'daemon', 'audit-line.js')).href;
  const script = `
    // Node ignores SIGXFSZ, but tap's hooks in this child re-raise it
    // unless someone else listens: listen, as the daemon's Node would not die.
    process.on('SIGXFSZ', () => {});
    const { AuditLog } = await import(${JSON.stringify(moduleUrl)});
    const { AUDIT_EVENTS } = await import(${JSON.stringify(lineUrl)});
    const audit = await AuditLog.open(${JSON.stringify(path)});
    const results = [];
    for (let i = 0; i < 40; i++) {
      results.push(await audit.record(AUDIT_EVENTS.cacheHit, {
        requestId: 'r' + i, integration: 'i', provider: 'p', target: 't'.repeat(300),
        repository: 'acme/widgets', installation: 1, permissions: null, expiresAt: null,
        durationMs: 0, requester: { pid: 1, ppid: 0 }, listener: null, tokenSha256: null,
      }));
    }
    process.stdout.write(JSON.stringify(results));
  `;
  const child = atFileSizeLimit(t, script);
  const results = JSON.parse(child.stdout) as boolean[];
  const text = readFileSync(path, 'utf8');
  const lines = text.split('\n');

  t.ok(results.includes(false), 'writes failed once the file was full');
  t.equal(lines.at(-1), '', 'the file ends at the end of a line');
  t.equal(lines.length - 1, results.filter(Boolean).length, 'one whole line per written record');
  t.doesNotThrow(() => lines.slice(0, -1).forEach((line) => JSON.parse(line)));
});

t.test('reopen starts a new file where the old one was moved or removed, 0600', async (t) => {
  const dir = join(t.testdir(), 'logs');
  const path = join(dir, 'audit.log');
  const audit = await AuditLog.open(path);
  await audit.record(AUDIT_EVENTS.minted, record({}));
  // Recorded before the signal: written to the file it was recorded for.
  const beforeSignal = audit.record(AUDIT_EVENTS.erased, record({}));

  // logrotate's `create 0644`: a new, wider file at the path.
  renameSync(path, `${path}.1`);
  writeFileSync(path, '', { mode: 0o644 });
  chmodSync(path, 0o644);
  audit.reopen();
  await audit.record(AUDIT_EVENTS.cacheHit, record({}));
  t.equal(await beforeSignal, true);
  t.match(readFileSync(path, 'utf8'), /token\.cache_hit/, 'the new line is in the new file');
  t.notMatch(readFileSync(`${path}.1`, 'utf8'), /token\.cache_hit/);
  t.match(readFileSync(`${path}.1`, 'utf8'), /token\.erased/, 'the earlier one in the old file');
  t.equal(statSync(path).mode & 0o777, 0o600, 'and the new file is made 0600');

  // The whole directory removed: it is made again.
  rmSync(dir, { recursive: true });
  audit.reopen();
  t.equal(await audit.record(AUDIT_EVENTS.cacheHit, record({})), true);
  t.match(readFileSync(path, 'utf8'), /token\.cache_hit/);
});

t.test('once the file takes lines again, a gap line says how many were lost', async (t) => {
  // Found by review: after a full disk was freed, the first request was
  // always refused, its failure line being what found out. Now a timer
  // tries, and the trail records the outage.
  const dir = t.testdir();
  const path = join(dir, 'audit.log');
  writeFileSync(path, `${'x'.repeat(4095)}\n`); // at the limit (ulimit -f 8 in sh: 4 KiB)
  const moduleUrl = pathToFileURL(join(REPO_ROOT, 'dist', 'daemon', 'audit-log.js')).href;
  const lineUrl = pathToFileURL(join(REPO_ROOT, 'dist', 'daemon', 'audit-line.js')).href;
  const script = `
    process.on('SIGXFSZ', () => {});
    const { readFileSync, writeFileSync } = await import('node:fs');
    const { AuditLog, RECOVERY_PROBE_MS } = await import(${JSON.stringify(moduleUrl)});
    const { AUDIT_EVENTS } = await import(${JSON.stringify(lineUrl)});
    const audit = await AuditLog.open(${JSON.stringify(path)}, () => {});
    const fields = (id) => ({
      requestId: id, integration: 'i', provider: 'p', target: 't', repository: 'acme/widgets',
      installation: 1, permissions: null, expiresAt: null, durationMs: 0,
      requester: { pid: 1, ppid: 0 }, listener: null, tokenSha256: null,
    });
    const lost = await Promise.all(['a', 'b', 'c'].map((id) => audit.record(AUDIT_EVENTS.cacheHit, fields(id))));
    // Room again (the old lines moved away), and no request meanwhile.
    writeFileSync(${JSON.stringify(path)}, readFileSync(${JSON.stringify(path)}).subarray(4000));
    await new Promise((resolve) => setTimeout(resolve, RECOVERY_PROBE_MS * 1.5));
    const failingAfterWait = audit.failing;
    const next = await audit.record(AUDIT_EVENTS.cacheHit, fields('d'));
    process.stdout.write(JSON.stringify({ lost, failingAfterWait, next }));
  `;
  const child = atFileSizeLimit(t, script);
  t.same(JSON.parse(child.stdout), {
    lost: [false, false, false],
    failingAfterWait: false,
    next: true,
  });
  const lines = readFileSync(path, 'utf8').trim().split('\n').slice(-2);
  t.match(JSON.parse(lines[0]!), { event: 'audit.gap', lost: 3, error: 'EFBIG', since: /^\d{4}-/ });
  t.match(JSON.parse(lines[1]!), { event: 'token.cache_hit', requestId: 'd' });
});
