import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { AUDIT_EVENTS, AuditLog, type AuditRecord } from '../../daemon/audit-log.js';
import { assertNoSecrets } from '../fixtures/leak-scan.js';

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

t.test('a write that fails is reported on stderr and the log keeps going', async (t) => {
  // /dev/full accepts the open and fails every write with ENOSPC: a full disk.
  const audit = await AuditLog.open('/dev/full');
  const stderr: string[] = [];
  const original = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string) => {
    stderr.push(chunk);
    return true;
  }) as typeof process.stderr.write;
  try {
    audit.record(AUDIT_EVENTS.cacheHit, record({}));
    audit.record(AUDIT_EVENTS.cacheHit, record({}));
  } finally {
    process.stderr.write = original;
  }
  t.equal(stderr.length, 2, 'each failed write is reported');
  t.match(stderr[0], /audit log '\/dev\/full' write failed: ENOSPC/);
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
