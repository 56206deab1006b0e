import t from 'tap';
import { ProviderRegistry, type Integration } from '../../daemon/provider-registry.js';
import { createDaemonLog } from '../../daemon/main.js';
import { StubProvider, stubIntegrationConfig } from '../fixtures/stub-provider.js';

function integrationFor(host: string, name: string): Integration {
  return { config: { ...stubIntegrationConfig(), host, name }, provider: new StubProvider() };
}

t.test('a bad log level is a clear error, not a pino internal', async (t) => {
  t.throws(() => createDaemonLog({ GIT_CREDENTIAL_BROKER_LOG_LEVEL: 'verbose' }), {
    code: 'CONFIG',
    message: /GIT_CREDENTIAL_BROKER_LOG_LEVEL 'verbose' is not a log level; use one of .*debug/,
  });
});

t.test('routes are remembered, and the answer stays the one routing gives', async (t) => {
  const example = integrationFor('git.example', 'example');
  const local = integrationFor('127.0.0.1:8080', 'local');
  const registry = new ProviderRegistry([example, local]);
  const route = (protocol: string, host: string): Integration =>
    registry.route({ protocol, host, path: 'a/b' });

  for (let round = 0; round < 2; round++) {
    t.equal(route('https', 'GIT.example:443'), example, `round ${round}: spelled another way`);
    t.equal(route('http', '127.0.0.1:8080'), local, `round ${round}: http on loopback`);
    // Refusals are worked out every time, never remembered as a route.
    t.throws(() => route('http', 'git.example'), { code: 'DENIED' });
    t.throws(() => route('ssh', 'git.example'), { code: 'NO_INTEGRATION' });
    t.throws(() => route('https', 'other.example'), { code: 'NO_INTEGRATION' });
    // Two ports: malformed, not the loopback integration's host.
    t.throws(() => route('http', '127.0.0.1:8080:80'), { code: 'NO_INTEGRATION' });
    t.throws(() => route('https', '127.0.0.1:8080:443'), { code: 'NO_INTEGRATION' });
  }
  // A protocol and host that run together into another pair's spelling.
  t.throws(() => route('http', 's://git.example'), { code: 'NO_INTEGRATION' });
  t.throws(() => route('https:/', '/git.example'), { code: 'NO_INTEGRATION' });

  // More spellings than are remembered (each one is routed): all still right.
  const letters = [...'git.example'];
  const spellings = Array.from({ length: 600 }, (_, i) =>
    letters.map((c, n) => ((i >> n) & 1 ? c.toUpperCase() : c)).join(''),
  );
  const misrouted = spellings.filter((host) => route('https', host) !== example);
  t.same(misrouted, [], 'every spelling routed to its integration');
  const routedUnknown = spellings.filter((host) => {
    try {
      route('https', `x${host}`);
      return true;
    } catch {
      return false;
    }
  });
  t.same(routedUnknown, [], 'and no unknown host routed anywhere');

  // A reload forgets what was routed before it.
  const replacement = integrationFor('git.example', 'replacement');
  registry.replaceAll([replacement]);
  t.equal(route('https', 'git.example'), replacement, 'the new integration after a reload');
  t.throws(() => route('http', '127.0.0.1:8080'), { code: 'NO_INTEGRATION' });
});

t.test(
  'a request naming no host goes to the one host served, or is refused with the hosts',
  async (t) => {
    const one = new ProviderRegistry([integrationFor('ghe.example.com', 'ghe')]);
    const two = new ProviderRegistry([
      integrationFor('ghe.example.com', 'ghe'),
      integrationFor('github.com', 'github'),
    ]);

    t.equal(one.soleHost(), 'ghe.example.com');
    t.throws(() => two.soleHost(), {
      code: 'BAD_REQUEST',
      message:
        'no host was named, and this daemon serves several: ghe.example.com, github.com; pass --host with one of them, or give a clone URL',
    });
    // A host no integration serves is refused with the ones served, a typo plain to see.
    t.throws(() => two.route({ protocol: 'https', host: 'ghe.exmaple.com', path: 'a/b' }), {
      code: 'NO_INTEGRATION',
      message:
        "no integration is configured for host 'ghe.exmaple.com' (this daemon serves ghe.example.com, github.com)",
    });
  },
);
