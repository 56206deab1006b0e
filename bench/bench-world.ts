/**
 * The world a benchmark runs in: the GitHub-compatible fixture and a real
 * daemon process (audit log on), from the same fixtures the end-to-end
 * tests use, in a temporary directory removed afterwards.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROTOCOL_VERSION, type GetRequest } from '../shared/protocol.js';
import {
  createBrokerWorld,
  INSTALLATION_ID,
  OWNER,
  type BrokerWorld,
  type BrokerWorldOptions,
} from '../test/fixtures/broker-world.js';

export { INSTALLATION_ID, OWNER };

export interface BenchWorld extends BrokerWorld {
  getRequest(repo: string): GetRequest;
  close(): Promise<void>;
}

export async function startBenchWorld(options: BrokerWorldOptions): Promise<BenchWorld> {
  const dir = await mkdtemp(join(tmpdir(), 'gcb-bench-'));
  let world: BrokerWorld;
  try {
    world = await createBrokerWorld(dir, { bareRepos: false, ...options });
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    ...world,
    getRequest: (repo) => ({
      v: PROTOCOL_VERSION,
      op: 'get',
      target: { protocol: 'http', host: world.github.host, path: `${OWNER}/${repo}` },
      requester: { pid: process.pid, ppid: process.ppid },
    }),
    async close() {
      await world.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** repo-0 … repo-(count-1) */
export function repoNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `repo-${i}`);
}
