/**
 * A second provider through the unchanged daemon core: the `command`
 * provider, served, cached and audited like GitHub tokens, via real git.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { startDaemonProcess } from '../fixtures/daemon-process.js';
import { isolatedGitEnv, runGit } from '../fixtures/git.js';
import { assertNoSecrets } from '../fixtures/leak-scan.js';
import { HELPER_BIN } from '../fixtures/repo-root.js';

t.test('git gets the program’s credential, served from cache on the next request', async (t) => {
  const dir = t.testdir();
  const calls = join(dir, 'calls.log');
  const script = join(dir, 'mint.mjs');
  await writeFile(
    script,
    `import { appendFileSync } from 'node:fs';
appendFileSync(${JSON.stringify(calls)}, process.env.GIT_CREDENTIAL_BROKER_REPOSITORY + '\\n');
console.log(JSON.stringify({ secret: 'tools_secret_' + Math.random().toString(36).slice(2), expiresAt: Math.floor(Date.now() / 1000) + 3600 }));`,
  );
  const daemon = await startDaemonProcess(dir, {
    integrations: [
      {
        name: 'tools',
        provider: 'command',
        host: 'tools.internal',
        command: [process.execPath, script],
        username: 'ci-bot',
      },
    ],
  });
  t.teardown(() => daemon.stop());
  const home = join(dir, 'home');
  await mkdir(home);
  const env = isolatedGitEnv(home);
  await runGit(
    [
      'config',
      '--global',
      'credential.https://tools.internal.helper',
      `${HELPER_BIN} --socket ${daemon.socketPath}`,
    ],
    { env },
  );
  await runGit(['config', '--global', 'credential.https://tools.internal.useHttpPath', 'true'], {
    env,
  });
  const input = 'protocol=https\nhost=tools.internal\npath=team/tools.git\n\n';

  const first = await runGit(['credential', 'fill'], { env, input });
  const second = await runGit(['credential', 'fill'], { env, input });
  const secret = /password=(.*)/.exec(first.stdout)?.[1] ?? '';

  t.equal(first.code, 0, first.stderr);
  t.match(first.stdout, /^username=ci-bot$/m);
  t.match(secret, /^tools_secret_/);
  t.match(second.stdout, `password=${secret}`);
  t.equal(await readFile(calls, 'utf8'), 'team/tools\n', 'the program ran once');
  t.same(
    (await daemon.auditRecords()).map((r) => [r.event, r.provider, r.repository]),
    [
      ['token.minted', 'command', 'team/tools'],
      ['token.cache_hit', 'command', 'team/tools'],
    ],
  );
  assertNoSecrets(
    t,
    { daemon: daemon.output(), audit: await daemon.auditText(), stderr: first.stderr },
    [secret],
  );
});
