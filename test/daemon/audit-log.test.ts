import { randomBytes } from 'node:crypto';
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

t.test('blanks a secret that reaches an audit record by mistake, at any field', async (t) => {
  const path = join(t.testdir(), 'audit.log');
  const audit = await AuditLog.open(path);

  audit.record(AUDIT_EVENTS.failed, record({ token: SECRET }));
  audit.record(AUDIT_EVENTS.failed, record({ error: { code: 'X', message: 'm', secret: SECRET } }));
  audit.record(AUDIT_EVENTS.failed, record({ requester: { pid: 1, ppid: 0, password: SECRET } }));
  await audit.flush();
  const text = await readFile(path, 'utf8');

  t.equal(text.trim().split('\n').length, 3);
  t.equal(text.match(/\[redacted\]/g)?.length, 3);
  assertNoSecrets(t, { audit: text }, [SECRET]);
});

t.test('a line is in the file as soon as it is recorded', async (t) => {
  const path = join(t.testdir(), 'audit.log');
  const audit = await AuditLog.open(path);

  audit.record(AUDIT_EVENTS.cacheHit, record({}));
  const text = await readFile(path, 'utf8');

  t.match(text, /token\.cache_hit/);
});
