import { generateKeyPairSync } from 'node:crypto';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { loadConfig } from '../../../daemon/config.js';
import { githubAppKind, type GitHubAppOptions } from '../../../daemon/providers/github-app-kind.js';
import { capturedLog } from '../../fixtures/captured-log.js';
import { privateKeyFragments } from '../../fixtures/leak-scan.js';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
const PKCS1 = rsa.export({ type: 'pkcs1', format: 'pem' }).toString();
const PKCS8 = rsa.export({ type: 'pkcs8', format: 'pem' }).toString();

function configIn(t: Test, integration: Record<string, unknown>): string {
  const dir = t.testdir();
  const path = join(dir, 'broker.json');
  const base = { provider: 'github-app', host: 'github.com', appId: 1 };
  writeFileSync(path, JSON.stringify({ integrations: [{ ...base, ...integration }] }));
  return path;
}

async function keyFrom(t: Test, env: Record<string, string>): Promise<GitHubAppOptions> {
  const config = await loadConfig(configIn(t, { privateKeyEnv: 'APP_KEY' }), env);
  return config.integrations[0]!.options as GitHubAppOptions;
}

t.test(
  'reads a PKCS#1 key from an environment variable with escaped newlines and quotes',
  async (t) => {
    const escaped = `"${PKCS1.trim().replace(/\n/g, '\\n')}"`;

    const options = await keyFrom(t, { APP_KEY: escaped });

    t.equal(options.privateKeyPem, PKCS8, 'normalized to the same PKCS#8 key');
    t.equal(options.privateKeyPath, '$APP_KEY', 'messages name the variable, not the key');
  },
);

t.test('reads a PKCS#8 key with CRLF line ends and single quotes', async (t) => {
  const options = await keyFrom(t, { APP_KEY: `'${PKCS8.replace(/\n/g, '\r\n')}'` });

  t.equal(options.privateKeyPem, PKCS8);
});

t.test('an unset variable, or both sources at once, is a config error', async (t) => {
  await t.rejects(loadConfig(configIn(t, { privateKeyEnv: 'APP_KEY' }), {}), {
    code: 'CONFIG',
    message: /environment variable 'APP_KEY' named by integrations\[0\]\.privateKeyEnv is not set/,
  });
  await t.rejects(
    loadConfig(configIn(t, { privateKeyEnv: 'APP_KEY', privateKeyPath: 'k.pem' }), {
      APP_KEY: PKCS1,
    }),
    { code: 'CONFIG', message: /privateKeyEnv and privateKeyPath are both set/ },
  );
});

t.test('a bad key in the environment is refused without echoing it', async (t) => {
  const encrypted = rsa
    .export({ type: 'pkcs1', format: 'pem', cipher: 'aes-128-cbc', passphrase: 'pw' })
    .toString();
  const broken = PKCS1.slice(0, 400);

  for (const [name, value, message] of [
    ['encrypted', encrypted, /is encrypted/],
    ['truncated', broken, /is not a PEM private key/],
  ] as const) {
    const error = await keyFrom(t, { APP_KEY: value }).catch((e: Error) => e);
    t.match(error, { code: 'CONFIG', message }, name);
    const fragments = privateKeyFragments(value);
    t.notOk(
      fragments.some((line) => (error as Error).message.includes(line)),
      `${name}: not echoed`,
    );
  }
});

t.test('warns at start when the key file is open to other users', async (t) => {
  const path = configIn(t, { privateKeyPath: 'app.pem' });
  const keyPath = join(path, '..', 'app.pem');
  writeFileSync(keyPath, PKCS1);
  const { log, text: logged } = capturedLog();

  chmodSync(keyPath, 0o644);
  const open = (await loadConfig(path, {})).integrations[0]!;
  githubAppKind.create(open, { log, now: Date.now });
  chmodSync(keyPath, 0o600);
  const closed = (await loadConfig(path, {})).integrations[0]!;

  t.match(
    logged(),
    `private key '${keyPath}' is accessible to other users (mode 644); run: chmod 600`,
  );
  t.equal((closed.options as GitHubAppOptions).privateKeyWarning, undefined);
  t.notOk(
    privateKeyFragments(PKCS1).some((line) => logged().includes(line)),
    'the key is not logged',
  );
});
