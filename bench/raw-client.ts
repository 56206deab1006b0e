/**
 * A load client that does what the helper does, minus Node's startup: a new
 * connection per request, one line out, one line back.
 */
import { connect } from 'node:net';

/** Sends `line` and resolves with the reply line's latency in ms. */
export function timedRequest(socketPath: string, line: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const startedNs = process.hrtime.bigint();
    const socket = connect(socketPath);
    let done = false;
    socket.on('connect', () => socket.write(line));
    socket.on('data', (chunk: Buffer) => {
      if (done || chunk.indexOf(0x0a) === -1) return;
      done = true;
      socket.destroy();
      resolve(Number(process.hrtime.bigint() - startedNs) / 1e6);
    });
    socket.on('error', reject);
    socket.on('close', () => {
      if (!done) reject(new Error('connection closed without a reply'));
    });
  });
}

/** The reply line the server sends to `line`, newline included. */
export function rawReply(socketPath: string, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const socket = connect(socketPath);
    socket.on('connect', () => socket.write(line));
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
  });
}

export interface LoadResult {
  latenciesMs: number[];
  elapsedMs: number;
  errors: number;
}

/**
 * `requests` requests from `clients` concurrent clients, each on a new
 * connection; `lines` are sent round-robin.
 */
export async function runLoad(
  socketPath: string,
  lines: readonly string[],
  clients: number,
  requests: number,
): Promise<LoadResult> {
  const latenciesMs: number[] = [];
  let errors = 0;
  let next = 0;
  const startedMs = performance.now();
  const client = async (): Promise<void> => {
    while (next < requests) {
      const line = lines[next++ % lines.length]!;
      try {
        latenciesMs.push(await timedRequest(socketPath, line));
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: clients }, client));
  return { latenciesMs, elapsedMs: performance.now() - startedMs, errors };
}
