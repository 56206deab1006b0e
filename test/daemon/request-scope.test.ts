import pino from 'pino';
import t from 'tap';
import type { RequestContext } from '../../daemon/provider.js';
import type { Integration } from '../../daemon/provider-registry.js';
import { isPromise, scopeRequest } from '../../daemon/request-scope.js';
import { PROTOCOL_VERSION, type GetRequest } from '../../shared/protocol.js';
import { StubProvider, stubIntegrationConfig } from '../fixtures/stub-provider.js';

function integration(sync: boolean): Integration & { provider: StubProvider } {
  const provider = new StubProvider();
  provider.sync = sync;
  return { config: stubIntegrationConfig(), provider };
}

const request = (path: string): GetRequest => ({
  v: PROTOCOL_VERSION,
  op: 'get',
  target: { protocol: 'https', host: 'git.example', path },
  requester: { pid: 1, ppid: 1 },
});

function context(policy?: RequestContext['policy']): RequestContext {
  return {
    requestId: 'r1',
    requester: { pid: 1, ppid: 1 },
    log: pino({ level: 'silent' }),
    ...(policy === undefined ? {} : { policy }),
  };
}

t.test('a provider that answers at once gets a scope at once, with no promise', async (t) => {
  const scoped = scopeRequest(integration(true), request('acme/widgets'), context());

  t.notOk(isPromise(scoped));
  t.match(scoped, { repository: 'acme/widgets' });
});

t.test('the cache key keeps integrations and listener sockets apart', async (t) => {
  const own = await scopeRequest(integration(false), request('acme/widgets'), context());
  const listener = await scopeRequest(
    integration(false),
    request('acme/widgets'),
    context({ name: '/run/ci.sock' }),
  );
  const renamed = integration(false);
  renamed.config = { ...renamed.config, name: 'other-int' };
  const other = await scopeRequest(renamed, request('acme/widgets'), context());

  t.equal(own.listener, undefined, 'the daemon socket names no listener');
  t.equal(listener.listener, '/run/ci.sock');
  t.not(own.cacheKey, listener.cacheKey);
  t.not(own.cacheKey, other.cacheKey);
  t.ok(own.cacheKey.startsWith('"stub-int"|'), own.cacheKey);
});

t.test(
  'a repository the socket does not allow is refused before the provider is asked',
  async (t) => {
    const stub = integration(true);

    t.throws(
      () =>
        scopeRequest(
          stub,
          request('acme/secret'),
          context({ name: '/run/ci.sock', allow: ['acme/widgets'] }),
        ),
      { code: 'DENIED' },
    );
    t.equal(stub.provider.resolves, 0);
  },
);
