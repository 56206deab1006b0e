/**
 * A mint that finds its scope gone upstream (a GitHub App installation
 * removed, maybe installed again), through the credential service over a
 * stub provider: the tokens of the gone scope go, and the requests are
 * served under the new one.
 */
import { join } from 'node:path';
import t, { type Test } from 'tap';
import pino from 'pino';
import { AuditLog } from '../../daemon/audit-log.js';
import { CredentialService } from '../../daemon/credential-service.js';
import type { RequestContext } from '../../daemon/provider.js';
import { ProviderRegistry } from '../../daemon/provider-registry.js';
import { TokenCache } from '../../daemon/token-cache.js';
import { TokenRevoker } from '../../daemon/token-revoker.js';
import { PROTOCOL_VERSION, type GetRequest } from '../../shared/protocol.js';
import { readFile } from 'node:fs/promises';
import { StubProvider, stubIntegrationConfig } from '../fixtures/stub-provider.js';

async function setup(t: Test) {
  const provider = new StubProvider();
  const auditPath = join(t.testdir(), 'audit.log');
  const auditLog = await AuditLog.open(auditPath);
  const revoker = new TokenRevoker({ audit: auditLog });
  const service = new CredentialService({
    registry: new ProviderRegistry([{ config: stubIntegrationConfig(), provider }]),
    cache: new TokenCache({ log: pino({ level: 'silent' }) }),
    audit: auditLog,
    revoker,
  });
  const context = (requestId: string): RequestContext => ({
    requestId,
    requester: { pid: 11, ppid: 10 },
    log: pino({ level: 'silent' }),
  });
  const request = (path: string): GetRequest => ({
    v: PROTOCOL_VERSION,
    op: 'get',
    target: { protocol: 'https', host: 'git.example', path },
    requester: { pid: 11, ppid: 10 },
  });
  const audit = async (): Promise<Record<string, unknown>[]> =>
    (await readFile(auditPath, 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { provider, service, revoker, context, request, audit };
}

t.test(
  'requests sharing a mint that finds the installation gone are all served by the new one',
  async (t) => {
    const { provider, service, revoker, context, request, audit } = await setup(t);
    await service.get(request('acme/gadgets'), context('r0'));
    provider.removed.add(7);
    provider.installationId = 8;
    provider.delayMs = 20;

    // widgets resolves to the old installation (the stub still names 7 for
    // it until it is looked up again: as the daemon's remembered id does).
    provider.installationId = 7;
    const pending = [1, 2, 3].map((i) => service.get(request('acme/widgets'), context(`r${i}`)));
    await new Promise((resolve) => setTimeout(resolve, 5));
    provider.installationId = 8;
    const served = await Promise.all(pending);

    t.equal(new Set(served.map((wire) => wire.secret)).size, 1, 'one token for all three');
    t.equal(
      provider.mints,
      3,
      'gadgets, the shared mint that failed, one under the new installation',
    );
    t.equal(revoker.size, 1, "gadgets' dead token is off the revoker's list");
    const lines = await audit();
    t.match(
      lines.filter((line) => line.reason === 'installation_removed'),
      [{ event: 'token.revoked', outcome: 'expired', repository: 'acme/gadgets', installation: 7 }],
    );
    const served3 = lines.filter(
      (line) =>
        ['r1', 'r2', 'r3'].includes(String(line.requestId)) && line.event !== 'token.revoked',
    );
    t.same(
      served3.map((line) => [line.event, line.installation]).sort(),
      [
        ['token.cache_hit', 8],
        ['token.cache_hit', 8],
        ['token.minted', 8],
      ],
      'each audited once, under the new installation',
    );
    t.same(
      (await service.cacheStatus()).map((entry) => entry.repository),
      ['acme/widgets'],
      "gadgets' dead token is out of the cache",
    );
  },
);
