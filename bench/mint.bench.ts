/**
 * Mint path: what the daemon adds to a mint over the fixture server's own
 * latency. Ours: a get on a new connection that misses the cache and mints
 * (the integration caches nothing: minTokenLifeSeconds equals the token's
 * life). Reference: the same POST straight to the fixture with a ready JWT.
 */
import { readFile } from 'node:fs/promises';
import { GitHubClock } from '../daemon/providers/github-clock.js';
import { AppJwtSigner } from '../daemon/providers/github-app-jwt.js';
import { encodeMessage } from '../shared/protocol.js';
import { INSTALLATION_ID, startBenchWorld } from './bench-world.js';
import { timedRequest } from './raw-client.js';
import { fixed, median, type Row } from './stats.js';

const ROUNDS = 10;
const PER_ROUND = 30;

export async function benchMint(): Promise<Row[]> {
  const world = await startBenchWorld({
    installed: ['widgets'],
    integration: { minTokenLifeSeconds: 3600 },
  });
  try {
    const line = encodeMessage(world.getRequest('widgets'));
    const signer = new AppJwtSigner(
      String(world.app.appId),
      await readFile(world.app.privateKeyPath, 'utf8'),
      new GitHubClock(),
    );
    const url = `${world.github.apiUrl}/app/installations/${INSTALLATION_ID}/access_tokens`;
    const body = JSON.stringify({ repositories: ['widgets'], permissions: { contents: 'write' } });
    const direct = async (): Promise<number> => {
      const startedNs = process.hrtime.bigint();
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          authorization: `bearer ${signer.sign().jwt}`,
          accept: 'application/vnd.github+json',
          'content-type': 'application/json',
        },
        body,
      });
      await response.arrayBuffer();
      if (response.status !== 201) throw new Error(`direct mint answered ${response.status}`);
      return Number(process.hrtime.bigint() - startedNs) / 1e6;
    };
    const throughDaemon = async (): Promise<number> => {
      const before = world.github.mintCount;
      const ms = await timedRequest(world.daemon.socketPath, line);
      if (world.github.mintCount !== before + 1) throw new Error('the daemon did not mint');
      return ms;
    };

    await direct();
    await throughDaemon();
    const ours: number[] = [];
    const reference: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      for (let i = 0; i < PER_ROUND; i++) reference.push(await direct());
      for (let i = 0; i < PER_ROUND; i++) ours.push(await throughDaemon());
    }

    const o = median(ours);
    const r = median(reference);
    return [
      {
        benchmark: 'mint: get that mints, p50 (ms)',
        ours: fixed(o),
        reference: `${fixed(r)} (same POST to the fixture)`,
        ratio: fixed(o / r),
        target: '',
        met: undefined,
      },
      {
        benchmark: 'mint: daemon overhead, p50 (ms)',
        // The difference of the two medians above; no ratio means anything here.
        ours: fixed(o - r),
        reference: `${fixed(o)} - ${fixed(r)}`,
        ratio: '',
        target: '<= 3 ms',
        met: o - r <= 3,
      },
    ];
  } finally {
    await world.close();
  }
}
