import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import t from 'tap';
import { AUDIT_EVENTS, AuditLog, type AuditRecord } from '../../daemon/audit-log.js';
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

t.test(
  'writes only the fields of an audit record: a secret under any other name never lands',
  async (t) => {
    const path = join(t.testdir(), 'audit.log');
    const audit = await AuditLog.open(path);

    // Names redaction would know, and names it would not.
    audit.record(AUDIT_EVENTS.failed, record({ token: SECRET, bearer: SECRET }));
    audit.record(
      AUDIT_EVENTS.failed,
      record({ error: { code: 'X', message: 'm', secret: SECRET, detail: SECRET } }),
    );
    audit.record(
      AUDIT_EVENTS.failed,
      record({ requester: { pid: 1, ppid: 0, password: SECRET, env: { GH_TOKEN: SECRET } } }),
    );
    audit.record(
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

t.test('each line is in the file, in order, as soon as it is recorded', async (t) => {
  const path = join(t.testdir(), 'audit.log');
  const audit = await AuditLog.open(path);

  for (let i = 0; i < 50; i++) audit.record(AUDIT_EVENTS.cacheHit, record({ requestId: `r${i}` }));
  // Read synchronously: no turn of the event loop may be what writes them.
  const ids = readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((line) => (JSON.parse(line) as { requestId: string }).requestId);

  t.same(
    ids,
    Array.from({ length: 50 }, (_, i) => `r${i}`),
  );
});

t.test('a write that fails is reported, at most once a minute, and record() says so', async (t) => {
  // /dev/full accepts the open and fails every write with ENOSPC: a full disk.
  const audit = await AuditLog.open('/dev/full');
  const stderr: string[] = [];
  const original = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string) => {
    stderr.push(chunk);
    return true;
  }) as typeof process.stderr.write;
  const results: boolean[] = [];
  try {
    for (let i = 0; i < 5; i++) results.push(audit.record(AUDIT_EVENTS.cacheHit, record({})));
  } finally {
    process.stderr.write = original;
  }
  t.same(
    results,
    [false, false, false, false, false],
    'every failed line is reported to the caller',
  );
  t.equal(stderr.length, 1, 'one report for a burst: the reports must not fill a disk themselves');
  t.match(stderr[0], /audit log '\/dev\/full' write failed: ENOSPC; no credential is served/);

  const ok = await AuditLog.open(join(t.testdir(), 'audit.log'));
  t.equal(
    ok.record(AUDIT_EVENTS.cacheHit, record({})),
    true,
    'a written line is reported as written',
  );
});

t.test(
  'an audit log that cannot be opened is a config error that says how to fix it',
  async (t) => {
    const dir = t.testdir({ file: 'not a directory' });
    await t.rejects(AuditLog.open(join(dir, 'file', 'audit.log')), {
      code: 'CONFIG',
      message: /cannot open audit log .*audit\.log'.*set "auditLog" in the config/,
    });
  },
);

t.test('a secret nested under a known field never lands either', async (t) => {
  // Found in review: permissions was copied whole, and a field meant to be
  // a scalar was written whatever it held.
  const path = join(t.testdir(), 'audit.log');
  const audit = await AuditLog.open(path);
  const sneak = <T>(value: unknown): T => value as T;
  audit.record(
    AUDIT_EVENTS.minted,
    record({ permissions: sneak({ contents: 'read', token: SECRET }) }),
  );
  audit.record(
    AUDIT_EVENTS.minted,
    record({ permissions: sneak({ contents: { secret: SECRET } }) }),
  );
  audit.record(
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

t.test('a write cut short by a full disk leaves no part of a line behind', async (t) => {
  // A child with an 8 KiB file size limit (and SIGXFSZ ignored, so writes
  // fail with EFBIG instead of killing it) records until writes fail.
  const dir = t.testdir();
  const path = join(dir, 'audit.log');
  const moduleUrl = pathToFileURL(join(REPO_ROOT, 'dist', 'daemon', 'audit-log.js')).href;
  const script = `
    const { AuditLog, AUDIT_EVENTS } = await import(${JSON.stringify(moduleUrl)});
    const audit = await AuditLog.open(${JSON.stringify(path)});
    const results = [];
    for (let i = 0; i < 40; i++) {
      results.push(audit.record(AUDIT_EVENTS.cacheHit, {
        requestId: 'r' + i, integration: 'i', provider: 'p', target: 't'.repeat(300),
        repository: 'acme/widgets', installation: 1, permissions: null, expiresAt: null,
        durationMs: 0, requester: { pid: 1, ppid: 0 }, listener: null, tokenSha256: null,
      }));
    }
    process.stdout.write(JSON.stringify(results));
  `;
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
  t.equal(child.status, 0, child.stderr);
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
  audit.record(AUDIT_EVENTS.minted, record({}));

  // logrotate's `create 0644`: a new, wider file at the path.
  renameSync(path, `${path}.1`);
  writeFileSync(path, '', { mode: 0o644 });
  chmodSync(path, 0o644);
  audit.reopen();
  audit.record(AUDIT_EVENTS.cacheHit, record({}));
  t.match(readFileSync(path, 'utf8'), /token\.cache_hit/, 'the new line is in the new file');
  t.notMatch(readFileSync(`${path}.1`, 'utf8'), /token\.cache_hit/);
  t.equal(statSync(path).mode & 0o777, 0o600, 'and the new file is made 0600');

  // The whole directory removed: it is made again.
  rmSync(dir, { recursive: true });
  audit.reopen();
  t.equal(audit.record(AUDIT_EVENTS.cacheHit, record({})), true);
  t.match(readFileSync(path, 'utf8'), /token\.cache_hit/);
});
