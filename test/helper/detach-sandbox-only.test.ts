/**
 * `daemon --detach` run again on a daemon whose every socket has a client
 * policy, so that none answers status: the same config is left running,
 * exit 0, and another is named with the restart that works there.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { sendRequest } from '../../shared/daemon-client.js';
import { PROTOCOL_VERSION } from '../../shared/protocol.js';
import { VERSION } from '../../shared/version.js';
import { processExists } from '../../helper/process-exists.js';
import { cli, world } from '../fixtures/cli-world.js';

async function pingPid(socketPath: string): Promise<number | undefined> {
  const reply = await sendRequest(socketPath, { v: PROTOCOL_VERSION, op: 'ping' });
  return reply.ok ? reply.pid : undefined;
}

t.test(
  'a daemon whose every socket has a policy is left running by the same --detach, and named with what differs otherwise',
  async (t) => {
    const w = await world(t);
    await w.daemon.stop();
    const env = { XDG_STATE_HOME: join(w.dir, 'state') };
    const { socketPath, configPath } = w.daemon;
    const config = JSON.parse(await readFile(configPath, 'utf8')) as object;
    await writeFile(
      configPath,
      JSON.stringify({ ...config, listeners: [{ socket: socketPath, allow: ['acme/widgets'] }] }),
    );
    const otherConfig = join(w.dir, 'other.json');
    await writeFile(otherConfig, await readFile(configPath));
    const detach = (path: string) => cli(w, ['daemon', '--detach', '--config', path], env);

    const first = await detach(configPath);
    const pid = await pingPid(socketPath);
    t.teardown(async () => {
      if (pid !== undefined && processExists(pid)) process.kill(pid, 'SIGTERM');
      while (pid !== undefined && processExists(pid)) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    });
    const second = await detach(configPath);
    const other = await detach(otherConfig);

    t.equal(first.code, 0, first.stderr);
    t.match(first.stdout, `daemon started (pid ${pid})`);
    t.equal(second.code, 0, second.stderr);
    t.equal(second.stderr, '');
    t.match(
      second.stdout,
      `a broker daemon (pid ${pid}, version ${VERSION}) is already running on '${socketPath}' with config '${configPath}'; nothing to start (every socket of it has a client policy, so whether it has loaded the file's latest content cannot be told: kill -HUP ${pid} reloads it)`,
    );
    t.equal(other.code, 1);
    t.equal(other.stdout, '');
    t.match(
      other.stderr,
      `already running on '${socketPath}', but it runs config '${configPath}', and this command was given '${otherConfig}'; nothing was started: stop it first (kill -TERM ${pid} stops it: status and stop are refused on a socket with a client policy), then start this one`,
    );
    t.equal(await pingPid(socketPath), pid, 'the same daemon still serves');
  },
);
