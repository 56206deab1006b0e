/**
 * `npm run demo`: the main job on loopback. A throwaway GitHub App, a local
 * GitHub-compatible server, the broker daemon, then real `git clone` and
 * `git push` through the helper, and the audit trail they left.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBrokerWorld, type BrokerWorld } from '../test/fixtures/broker-world.js';
import type { GitResult } from '../test/fixtures/git.js';

function step(text: string): void {
  process.stdout.write(`\n==> ${text}\n`);
}

function show(result: GitResult): void {
  const text = (result.stdout + result.stderr).trim();
  if (text !== '') process.stdout.write(`${text.replace(/^/gm, '    ')}\n`);
  if (result.code !== 0) throw new Error(`git exited with ${result.code}`);
}

function describeRecord(record: Record<string, unknown>): string {
  const requester = record.requester as { pid?: number; ppid?: number } | undefined;
  const fields = [
    String(record.time).slice(11, 23),
    String(record.event).padEnd(16),
    `repo=${String(record.repository)}`,
    // The helper's parent: for http(s) remotes, git's git-remote-http.
    `requester ppid=${String(requester?.ppid)}`,
    `took=${String(record.durationMs)}ms`,
  ];
  if (record.tokenSha256) {
    fields.push(
      `installation=${String(record.installation)}`,
      `permissions=${JSON.stringify(record.permissions)}`,
      `expires=${String(record.expiresAt)}`,
      `token=${String(record.tokenSha256).slice(0, 19)}…`,
    );
  }
  const error = record.error as { message?: string } | undefined;
  if (error?.message) fields.push(`reason=${error.message.slice(0, 60)}…`);
  return fields.join('  ');
}

async function run(world: BrokerWorld): Promise<void> {
  process.stdout.write(
    `GitHub App ${world.app.appId} (key generated just now), installed on acme/widgets only\n` +
      `local GitHub at ${world.github.gitBaseUrl} (API ${world.github.apiUrl})\n` +
      `broker daemon on ${world.daemon.socketPath}\n`,
  );
  step(`the broker's config (${world.daemon.configPath})`);
  const config = await readFile(world.daemon.configPath, 'utf8');
  process.stdout.write(`${config.trim().replace(/^/gm, '    ')}\n`);
  step('the git config (what `git-credential-broker configure` writes)');
  show(await world.git(['config', '--global', '--get-regexp', '^credential\\.']));

  const work = join(world.dir, 'widgets');
  step(`git clone ${world.cloneUrl('widgets')}`);
  show(await world.git(['clone', world.cloneUrl('widgets'), work]));

  step('commit and git push');
  await writeFile(join(work, 'HELLO.md'), 'pushed with a token scoped to acme/widgets\n');
  show(await world.git(['add', 'HELLO.md'], work));
  show(await world.git(['commit', '-q', '-m', 'Say hello through the broker'], work));
  show(await world.git(['push', 'origin', 'HEAD:main'], work));

  step('git clone again (served from the cache)');
  show(await world.git(['clone', world.cloneUrl('widgets'), join(world.dir, 'widgets-again')]));

  step('git clone acme/secret-plans (the App is not installed there)');
  const denied = await world.git([
    'clone',
    world.cloneUrl('secret-plans'),
    join(world.dir, 'denied'),
  ]);
  process.stdout.write(`${denied.stderr.trim().replace(/^/gm, '    ')}\n`);
  if (denied.code === 0)
    throw new Error('the clone of a repository outside the installation succeeded');

  step(`audit trail (${world.daemon.auditLogPath})`);
  const records = await world.daemon.auditRecords();
  for (const record of records) process.stdout.write(`    ${describeRecord(record)}\n`);

  const count = (event: string): number =>
    records.filter((record) => record.event === event).length;
  const minted = count('token.minted');
  const hits = count('token.cache_hit');
  step(
    `GitHub minted ${world.github.mintCount} token; the audit log shows ${minted} mint, ${hits} cache hits ` +
      `and ${count('token.denied')} denial. No token appears in it, only SHA-256 fingerprints.`,
  );
  if (world.github.mintCount !== 1 || minted !== 1 || hits < 1) {
    throw new Error('expected exactly one mint followed by cache hits');
  }
}

async function main(): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'git-credential-broker-demo-'));
  let world: BrokerWorld | undefined;
  try {
    world = await createBrokerWorld(dir, { notInstalled: ['secret-plans'] });
    await run(world);
    process.stdout.write(
      '\ndemo finished: everything above ran on loopback and is now cleaned up\n',
    );
    return 0;
  } catch (error) {
    process.stderr.write(`demo failed: ${(error as Error).message}\n`);
    if (world) process.stderr.write(`daemon output:\n${world.daemon.output()}\n`);
    return 1;
  } finally {
    await world?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

process.exitCode = await main();
