/**
 * Which proxy the daemon uses for an API origin, read from its environment
 * as curl reads it, and the errors for proxy URLs it cannot use.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { loadConfig } from '../../../daemon/config.js';
import type { GitHubAppOptions } from '../../../daemon/providers/github-app-kind.js';
import {
  describeRoute,
  parseProxyUrl,
  resolveProxyRoute,
} from '../../../daemon/providers/proxy-env.js';
import { ConfigError } from '../../../shared/errors.js';
import { createTestApp } from '../../fixtures/app-keys.js';
import { recordSecrets } from '../../fixtures/leak-ledger.js';

const GITHUB = new URL('https://api.github.com');
const LOCAL = new URL('http://127.0.0.1:4000/api/v3');

function via(origin: URL, env: Record<string, string>): string {
  const route = resolveProxyRoute(origin, env);
  return route.proxy === undefined ? 'none' : `${route.proxy.label} from ${route.proxy.variable}`;
}

t.test(
  'https origins read https_proxy, then HTTPS_PROXY, then all_proxy, then ALL_PROXY',
  async (t) => {
    const all = {
      https_proxy: 'http://a:3128',
      HTTPS_PROXY: 'http://b:3128',
      all_proxy: 'http://c:3128',
      ALL_PROXY: 'http://d:3128',
    };

    t.equal(via(GITHUB, all), 'a:3128 from https_proxy');
    t.equal(via(GITHUB, { ...all, https_proxy: '' }), 'b:3128 from HTTPS_PROXY', 'empty is unset');
    t.equal(
      via(GITHUB, { all_proxy: all.all_proxy, ALL_PROXY: all.ALL_PROXY }),
      'c:3128 from all_proxy',
    );
    t.equal(via(GITHUB, { ALL_PROXY: all.ALL_PROXY }), 'd:3128 from ALL_PROXY');
    t.equal(via(GITHUB, { http_proxy: 'http://e:3128' }), 'none', 'http_proxy is for http URLs');
    t.equal(via(GITHUB, {}), 'none');
  },
);

t.test('http origins read http_proxy, never HTTP_PROXY (httpoxy), and say so', async (t) => {
  t.equal(
    via(LOCAL, { http_proxy: 'http://a:3128', HTTPS_PROXY: 'http://b:3128' }),
    'a:3128 from http_proxy',
  );
  t.equal(
    via(LOCAL, { HTTP_PROXY: 'http://b:3128', ALL_PROXY: 'http://c:3128' }),
    'c:3128 from ALL_PROXY',
  );

  const route = resolveProxyRoute(LOCAL, { HTTP_PROXY: 'http://b:3128' });

  t.equal(route.proxy, undefined);
  t.same(describeRoute(LOCAL, route), {
    origin: 'http://127.0.0.1:4000',
    proxy: 'none',
    ignored: 'HTTP_PROXY',
  });
});

t.test('no_proxy, else NO_PROXY, excludes an origin, and the route says which did', async (t) => {
  const env = { https_proxy: 'http://proxy.corp:3128', NO_PROXY: '.github.com' };

  const excluded = resolveProxyRoute(GITHUB, env);
  const lowerFirst = resolveProxyRoute(GITHUB, { ...env, no_proxy: 'internal.test' });

  t.same(describeRoute(GITHUB, excluded), {
    origin: 'https://api.github.com',
    proxy: 'none',
    proxyVariable: 'https_proxy',
    excludedBy: 'NO_PROXY',
  });
  t.equal(lowerFirst.proxy?.label, 'proxy.corp:3128', 'no_proxy is read before NO_PROXY');
  t.equal(
    via(LOCAL, { http_proxy: 'http://p:1', NO_PROXY: 'localhost' }),
    'p:1 from http_proxy',
    'loopback is not excluded unless listed, as in curl',
  );
  t.equal(via(LOCAL, { http_proxy: 'http://p:1', no_proxy: '127.0.0.1:4000' }), 'none');
  t.equal(
    via(GITHUB, { https_proxy: 'socks5://p:1080', NO_PROXY: 'api.github.com' }),
    'none',
    'an excluded origin does not need the proxy URL to be usable',
  );
});

t.test('a proxy URL: scheme, host, port and credentials as curl reads them', async (t) => {
  const plain = parseProxyUrl('https_proxy', 'proxy.corp:3128');
  const noPort = parseProxyUrl('https_proxy', 'http://proxy.corp');
  const port80 = parseProxyUrl('https_proxy', 'http://proxy.corp:80/');
  const tls = parseProxyUrl('https_proxy', 'https://proxy.corp');
  const v6 = parseProxyUrl('https_proxy', 'http://[::1]:3128');
  const withUser = parseProxyUrl('https_proxy', 'http://ci%40corp:p%3Ass%20word@proxy.corp:3128');

  t.match(plain, { protocol: 'http:', host: 'proxy.corp', port: 3128, hasCredentials: false });
  t.equal(noPort.port, 1080, "curl's default proxy port");
  t.equal(port80.port, 80, 'a port written as :80 is kept');
  t.match(tls, { protocol: 'https:', port: 443 });
  t.match(v6, { host: '::1', label: '[::1]:3128' });
  t.equal(
    withUser.proxyAuthorization(),
    `Basic ${Buffer.from('ci@corp:p:ss word').toString('base64')}`,
    'percent-decoded before encoding',
  );
  t.equal(plain.proxyAuthorization(), undefined);
});

t.test('a proxy endpoint never shows its credentials as JSON or text', async (t) => {
  const password = `pw-${Math.random().toString(36).slice(2)}-secret`;
  recordSecrets([password, Buffer.from(`ci:${password}`).toString('base64')]);
  const endpoint = parseProxyUrl('https_proxy', `http://ci:${password}@proxy.corp:3128`);

  const shown = [
    JSON.stringify(endpoint),
    JSON.stringify({
      route: resolveProxyRoute(GITHUB, { https_proxy: `http://ci:${password}@p:1` }),
    }),
    String(endpoint),
    (await import('node:util')).inspect(endpoint, { showHidden: true, depth: 5 }),
  ].join('\n');

  t.equal(endpoint.hasCredentials, true);
  t.notMatch(shown, password);
  t.notMatch(shown, Buffer.from(`ci:${password}`).toString('base64'));
  t.match(JSON.parse(JSON.stringify(endpoint)), { label: 'proxy.corp:3128', hasCredentials: true });
});

t.test(
  'a proxy URL the broker cannot use fails with the variable named, never the password',
  async (t) => {
    const password = `pw-${Math.random().toString(36).slice(2)}-secret`;
    recordSecrets([password]);
    const cases: [string, RegExp][] = [
      [
        `socks5://ci:${password}@proxy.corp:1080`,
        /ALL_PROXY names a socks5 proxy, which the broker does not support; give it an http:\/\//,
      ],
      [
        `http://ci:${password}@proxy corp:3128`,
        /ALL_PROXY is not a proxy URL the broker can read; write it as http:\/\/HOST:PORT/,
      ],
      [
        `http://ci:${password}%zz@proxy.corp:3128`,
        /ALL_PROXY has a user name or password that is not percent-encoded correctly/,
      ],
      [`http://ci:${password}@proxy.corp:99999`, /ALL_PROXY has port 0 or a port above 65535/],
    ];

    for (const [value, message] of cases) {
      const error = t.throws(() => resolveProxyRoute(GITHUB, { ALL_PROXY: value })) as Error;
      t.type(error, ConfigError);
      t.match(error.message, message);
      t.notMatch(error.message, password);
      t.equal(error.cause, undefined, "no cause: Node's URL error holds the whole value");
    }
  },
);

t.test(
  'a proxy URL is scheme://[user[:password]@]host[:port][/] only; anything after the host is refused unquoted',
  async (t) => {
    // Each password holds a character that ends URL's authority early.
    const passwords = ['2024/Winter', '12?x', 'a#b', 'c\\d'].map(
      (shape) => `${shape}-${Math.random().toString(36).slice(2)}`,
    );
    recordSecrets(passwords);
    const values = [
      ...passwords.map((password) => `http://ci:${password}@proxy.corp:3128`),
      ...passwords.map((password) => `ci:${password}@proxy.corp:3128`),
      'http://proxy.corp:3128/path',
      'http://proxy.corp:3128?',
      'http://proxy.corp:3128#',
      'http://proxy.corp:3128\\',
    ];

    for (const value of values) {
      const error = t.throws(() => parseProxyUrl('https_proxy', value)) as Error;
      t.type(error, ConfigError);
      t.match(
        error.message,
        /^environment variable https_proxy has a path, query or fragment after the proxy's host, or a user name or password with an unencoded special character; write it as http:\/\/HOST:PORT.*percent-encode special characters \(# \? \/ \\ @ : % and space\) in the user name and password$/,
      );
      // Neither the user, the host, the port nor any piece of the password.
      for (const piece of ['ci:', 'proxy.corp', '3128', '2024', 'Winter', ...passwords]) {
        t.notOk(error.message.includes(piece), 'nothing after the scheme is quoted');
      }
    }
    t.equal(parseProxyUrl('https_proxy', 'http://proxy.corp:3128/').port, 3128, 'a bare / is fine');
    t.equal(
      parseProxyUrl(
        'https_proxy',
        `http://ci:${encodeURIComponent(passwords[0]!)}@proxy.corp:3128`,
      ).proxyAuthorization(),
      `Basic ${Buffer.from(`ci:${passwords[0]}`).toString('base64')}`,
      'the same password percent-encoded works',
    );
  },
);

t.test(
  'a port outside 1-65535, empty or not a number, or a control character, is refused',
  async (t) => {
    const cases: [string, RegExp][] = [
      [
        'http://proxy.corp:0',
        /has port 0 or a port above 65535; give the proxy's port, from 1 to 65535/,
      ],
      ['proxy.corp:00', /has port 0 or a port above 65535/],
      ['http://[::1]:0', /has port 0 or a port above 65535/],
      ['http://proxy.corp:70000', /has port 0 or a port above 65535/],
      ['http://proxy.corp:', /has a port that is empty or not a number/],
      ['http://proxy.corp:31x8', /has a port that is empty or not a number/],
      ['http://proxy.corp:31\t28', /holds a control character/],
      ['http://proxy.corp:3128\n', /holds a control character/],
    ];

    for (const [value, message] of cases) {
      t.throws(() => parseProxyUrl('https_proxy', value), { code: 'CONFIG', message }, value);
    }
    t.equal(parseProxyUrl('https_proxy', 'http://[::1]:65535').port, 65535);
  },
);

t.test('the daemon config reads the proxy at load, so a bad one fails the start', async (t) => {
  const dir = t.testdir();
  const app = await createTestApp(dir);
  const path = join(dir, 'broker.json');
  await writeFile(
    path,
    JSON.stringify({
      integrations: [
        {
          provider: 'github-app',
          host: 'github.com',
          appId: app.appId,
          privateKeyPath: app.privateKeyPath,
        },
      ],
    }),
  );

  const config = await loadConfig(path, { HTTPS_PROXY: 'http://proxy.corp:3128' });
  const options = config.integrations[0]!.options as GitHubAppOptions;

  t.equal(options.proxy?.proxy?.label, 'proxy.corp:3128');
  await t.rejects(loadConfig(path, { HTTPS_PROXY: 'socks5h://proxy.corp' }), {
    code: 'CONFIG',
    message: /HTTPS_PROXY names a socks5h proxy/,
  });
});
