import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { DEFAULT_CACHE_TTL_SECONDS, loadConfig } from '../../daemon/config.js';
import type { GitHubAppOptions } from '../../daemon/providers/github-app-kind.js';

function keyDir(t: Test): string {
  const dir = t.testdir();
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  writeFileSync(join(dir, 'app.pem'), privateKey.export({ type: 'pkcs1', format: 'pem' }), {
    mode: 0o600,
  });
  return dir;
}

function writeConfig(dir: string, config: unknown): string {
  const path = join(dir, 'broker.json');
  writeFileSync(path, typeof config === 'string' ? config : JSON.stringify(config));
  return path;
}

const integration = {
  provider: 'github-app',
  host: 'GitHub.com',
  appId: 42,
  privateKeyPath: 'app.pem',
};

t.test(
  'loads an integration with defaults and a key path relative to the config file',
  async (t) => {
    const dir = keyDir(t);

    const config = await loadConfig(writeConfig(dir, { integrations: [integration] }), {
      HOME: dir,
    });
    const only = config.integrations[0]!;
    const options = only.options as GitHubAppOptions;

    t.equal(only.host, 'github.com', 'host is lowercased');
    t.equal(only.name, 'github-app');
    t.equal(only.cacheTtlSeconds, DEFAULT_CACHE_TTL_SECONDS);
    t.equal(options.appId, '42');
    t.equal(options.privateKeyPath, join(dir, 'app.pem'));
    t.match(options.privateKeyPem, /^-----BEGIN PRIVATE KEY-----/, 'normalized to PKCS#8');
    t.equal(options.apiBaseUrl, 'https://api.github.com');
    t.same(options.permissions, { contents: 'write' });
    t.equal(config.auditLog, join(dir, '.local/state/git-credential-broker/audit.log'));
  },
);

t.test(
  'a permission name GitHub does not document loads with a warning naming the key and the likely name',
  async (t) => {
    // Found in a trial: "content" for "contents" failed only at mint time,
    // with GitHub's 422, which names no permission.
    const dir = keyDir(t);
    const file = join(dir, 'broker.json');

    const config = await loadConfig(
      writeConfig(dir, {
        integrations: [{ ...integration, permissions: { content: 'read', issues: 'write' } }],
        listeners: [
          { socket: 'ci.sock', permissions: { contents: 'read', zzz_new_thing: 'read' } },
        ],
      }),
      {},
    );
    const clean = await loadConfig(
      writeConfig(dir, {
        integrations: [{ ...integration, permissions: { contents: 'read', issues: 'write' } }],
      }),
      {},
    );

    t.same(
      (config.integrations[0]!.options as GitHubAppOptions).permissions,
      {
        content: 'read',
        issues: 'write',
      },
      'kept as written: GitHub adds names over time',
    );
    t.same(config.warnings, [
      `config '${file}': integrations[0].permissions.content is not a permission GitHub documents for App tokens; did you mean "contents"? GitHub refuses to mint a token with a name it does not know (HTTP 422); a name it added after this release is fine`,
      `config '${file}': listeners[0].permissions.zzz_new_thing is not a permission GitHub documents for App tokens; GitHub refuses to mint a token with a name it does not know (HTTP 422); a name it added after this release is fine`,
    ]);
    t.same(clean.warnings, []);
  },
);

t.test('errors name the key, the bad value and the fix', async (t) => {
  const dir = keyDir(t);
  const cases: [unknown, RegExp][] = [
    ['{ nope', /is not valid JSON/],
    [{}, /integrations must be a non-empty array/],
    [
      { integrations: [{ ...integration, appId: 'twelve' }] },
      /integrations\[0\]\.appId must be the App ID .* got "twelve"/,
    ],
    [
      { integrations: [{ ...integration, appId: undefined }] },
      /integrations\[0\]\.appId is required/,
    ],
    [
      { integrations: [{ ...integration, provider: 'gitlab' }] },
      /integrations\[0\]\.provider "gitlab" is not a known provider; use one of: github-app/,
    ],
    [
      { integrations: [{ ...integration, permisions: {} }] },
      /integrations\[0\]\.permisions is not a known key/,
    ],
    [
      { integrations: [{ ...integration, permissions: { contents: 'all' } }] },
      /integrations\[0\]\.permissions\.contents must be "read", "write" or "admin", got "all"/,
    ],
    [
      { integrations: [{ ...integration, apiBaseUrl: 'http://ghe.example.com/api/v3' }] },
      /apiBaseUrl must use https/,
    ],
    [
      // Found in review: accepted, ignored, and quoted in error messages.
      { integrations: [{ ...integration, apiBaseUrl: 'https://me:hunter2@ghe.example/api/v3' }] },
      /apiBaseUrl must not hold a user name or password; the broker signs in to GitHub with the App key$/,
    ],
    [
      { integrations: [{ ...integration, cacheTtlSeconds: -5 }] },
      /cacheTtlSeconds must be a positive whole number, got -5/,
    ],
    // Found in a trial: two without a name on one host were told about names.
    [
      { integrations: [integration, integration] },
      /: integrations\[0\] and integrations\[1\] both serve host 'github\.com', and a host takes one integration; remove one, or give each its own "host"$/,
    ],
    [
      {
        integrations: [
          integration,
          { ...integration, host: 'ghe.example.com', apiBaseUrl: 'https://ghe.example.com/api/v3' },
        ],
      },
      /: integrations\[0\] and integrations\[1\] are both named "github-app" \(without a "name", an integration is named after its provider, "github-app"\); give each a distinct "name"$/,
    ],
    [
      {
        integrations: [
          { ...integration, name: 'one' },
          {
            ...integration,
            name: 'one',
            host: 'ghe.example.com',
            apiBaseUrl: 'https://ghe.example.com/api/v3',
          },
        ],
      },
      /: integrations\[0\] and integrations\[1\] are both named "one"; give each a distinct "name"$/,
    ],
    [
      { integrations: [{ ...integration, host: 'github.com.:443' }] },
      /host must be written without a trailing dot or a default port \(:443, :80\), as "github\.com"/,
    ],
    [
      { integrations: [{ ...integration, host: '127.0.0.1:80' }] },
      /as "127\.0\.0\.1"; got "127\.0\.0\.1:80"/,
    ],
    [
      { integrations: [integration, { ...integration, name: 'second' }] },
      /integrations\[0\] and integrations\[1\] \("second"\) both serve host 'github\.com'/,
    ],
    [
      '{\n  "auditLog": "x"\n  "integrations": []\n}',
      /not valid JSON: expected ',' or '}' after property value at line 3, column 3$/,
    ],
    // Found in review: Node's message quoted the mistyped value, a secret here.
    [
      '{\n  "integrations": [\n    { "command": ["/x", "--password", hunter2-SuperSecretPassw0rd] }\n  ]\n}',
      /not valid JSON: an unexpected character at line 3, column 39$/,
    ],
    ['{"a": 1', /not valid JSON: expected ',' or '}' after property value at line 1, column 8$/],
    ['', /not valid JSON: it ends before the JSON is complete$/],
    [{ autostart: 'yes', integrations: [integration] }, /autostart must be true or false/],
    [
      { integrations: [{ ...integration, host: 'ghe.example.com' }] },
      /apiBaseUrl is required for host 'ghe\.example\.com'; for GitHub Enterprise Server use "https:\/\/ghe\.example\.com\/api\/v3"/,
    ],
    [
      { integrations: [{ ...integration, host: '127.0.0.1:8080' }] },
      /apiBaseUrl is required for host '127\.0\.0\.1:8080'; for GitHub Enterprise Server use "http:\/\/127\.0\.0\.1:8080\/api\/v3"/,
    ],
    [
      { integrations: [{ ...integration, owners: [] }] },
      /owners must be a non-empty array of account names/,
    ],
    [
      { integrations: [{ ...integration, owners: ['acme', 'no/slash'] }] },
      /owners\[1\] must be a GitHub account name, got "no\/slash"/,
    ],
    [
      { integrations: [{ provider: 'command', host: 'git.example.com', command: 'mint --now' }] },
      /command must be a non-empty array of strings/,
    ],
    [
      { integrations: [{ ...integration, privateKeyPath: 'missing.pem' }] },
      /cannot read private key '.*missing\.pem': ENOENT/,
    ],
  ];

  for (const [config, message] of cases) {
    await t.rejects(
      loadConfig(writeConfig(dir, config), {}),
      { code: 'CONFIG', message },
      String(message),
    );
  }
});

t.test('a missing config file says how to create one', async (t) => {
  await t.rejects(loadConfig(join(t.testdir(), 'none.json'), {}), {
    code: 'CONFIG',
    message: /does not exist; create it/,
  });
});

t.test('a directory given as the config file is called one', async (t) => {
  // Found in a new-user trial: it was told to be made readable.
  await t.rejects(loadConfig(t.testdir(), {}), {
    code: 'CONFIG',
    message: /is a directory; give the config file's path$/,
  });
});

t.test('refuses OpenSSH, encrypted and non-RSA keys without echoing them', async (t) => {
  const dir = t.testdir();
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const keys: Record<string, string> = {
    'openssh.pem':
      // Only the armour matters to the check; no key material.
      ['BEGIN', 'END'].map((word) => `-----${word} OPENSSH PRIVATE KEY-----`).join('\nAAAA\n') +
      '\n',
    'encrypted.pem': rsa
      .export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' })
      .toString(),
    'ec.pem': generateKeyPairSync('ec', { namedCurve: 'P-256' })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString(),
    'garbage.pem': 'hello\n',
  };
  const expected: Record<string, RegExp> = {
    'openssh.pem': /is an OpenSSH key/,
    'encrypted.pem': /is encrypted/,
    'ec.pem': /is a ec key; GitHub Apps sign with RSA keys/,
    'garbage.pem': /is not a PEM private key/,
  };

  for (const [file, pem] of Object.entries(keys)) {
    writeFileSync(join(dir, file), pem);
    const path = writeConfig(dir, { integrations: [{ ...integration, privateKeyPath: file }] });
    const error = await loadConfig(path, {}).catch((e: Error) => e);
    t.match(error, { code: 'CONFIG', message: expected[file] }, file);
    t.notMatch((error as Error).message, /BEGIN|MII/, `${file}: the key is not echoed`);
  }
});

t.test('reads the GitHub call timeout and attempts, and rejects bad values', async (t) => {
  const dir = keyDir(t);

  const config = await loadConfig(
    writeConfig(dir, {
      integrations: [{ ...integration, requestTimeoutSeconds: 3, maxAttempts: 2 }],
    }),
    { HOME: dir },
  );
  const defaults = await loadConfig(writeConfig(dir, { integrations: [integration] }), {
    HOME: dir,
  });

  t.same((config.integrations[0]!.options as GitHubAppOptions).retry, {
    attemptTimeoutMs: 3000,
    maxAttempts: 2,
  });
  t.same((defaults.integrations[0]!.options as GitHubAppOptions).retry, {});
  await t.rejects(
    loadConfig(writeConfig(dir, { integrations: [{ ...integration, maxAttempts: 0 }] }), {
      HOME: dir,
    }),
    { code: 'CONFIG', message: /integrations\[0\]\.maxAttempts must be a positive whole number/ },
  );
});

t.test('shutdownTimeoutSeconds bounds the shutdown: 25 s unless the config says', async (t) => {
  const dir = keyDir(t);

  const byDefault = await loadConfig(writeConfig(dir, { integrations: [integration] }), {});
  const set = await loadConfig(
    writeConfig(dir, { integrations: [integration], shutdownTimeoutSeconds: 8 }),
    {},
  );

  t.equal(byDefault.shutdownTimeoutSeconds, 25);
  t.equal(set.shutdownTimeoutSeconds, 8);
});

t.test('a shutdownTimeoutSeconds that is no whole number of seconds is refused', async (t) => {
  const dir = keyDir(t);

  for (const value of [0, -5, 2.5, '10', 3601, null]) {
    await t.rejects(
      loadConfig(
        writeConfig(dir, { integrations: [integration], shutdownTimeoutSeconds: value }),
        {},
      ),
      {
        code: 'CONFIG',
        message: new RegExp(
          `shutdownTimeoutSeconds must be a whole number of seconds from 1 to 3600, got ${JSON.stringify(value)}.*docker stop: 10 s, systemd: 90 s`,
        ),
      },
      `${JSON.stringify(value)} is refused`,
    );
  }
});
