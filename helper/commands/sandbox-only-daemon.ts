/**
 * `daemon --detach` on a socket whose daemon refuses `status` there (a
 * client policy): when every socket of a daemon has one, its own --socket
 * does too, and --detach run twice used to fail, pointing back at the very
 * socket it was given. Ping still answers with the daemon's pid and
 * version; which config and socket it runs with come from its process,
 * which this user may read once checkBrokerDaemon says it is ours.
 */
import { resolve } from 'node:path';
import { sendRequest } from '../../shared/daemon-client.js';
import { ConfigError } from '../../shared/errors.js';
import { printable } from '../../shared/printable.js';
import { daemonInvocation } from '../../shared/daemon-invocation.js';
import { PROTOCOL_VERSION } from '../../shared/protocol.js';
import { VERSION } from '../../shared/version.js';
import { samePath } from '../../shared/same-path.js';
import { checkBrokerDaemon } from './socket-holder.js';

/**
 * True when the daemon answering ping on `socketPath` is one --detach may
 * leave running (this release, this config file, started on this socket);
 * throws a ConfigError naming each difference and the fix otherwise.
 */
export async function sandboxOnlyDaemon(
  configPath: string,
  socketPath: string,
  refusal: string,
  print: (text: string) => void,
): Promise<boolean> {
  const ping = await sendRequest(socketPath, { v: PROTOCOL_VERSION, op: 'ping' }, 5000);
  const pid = ping.ok ? ping.pid : undefined;
  const version = ping.ok ? printable(ping.daemonVersion ?? 'unknown', 40) : 'unknown';
  try {
    checkBrokerDaemon(pid);
  } catch (error) {
    throw new ConfigError(
      `'${socketPath}' is a socket of a running broker daemon, with a client policy (${printable(refusal, 300)}), but ${(error as Error).message.replace(/^the daemon /, 'it ')}; nothing was started`,
    );
  }
  const started = daemonInvocation(pid);
  const stop = `kill -TERM ${pid} stops it: status and stop are refused on a socket with a client policy`;
  if (started === undefined) {
    // Without /proc (not Linux), a listener cannot be told from its own socket.
    throw new ConfigError(
      `'${socketPath}' is a socket of a running broker daemon (pid ${pid}), with a client policy (${printable(refusal, 300)}); which config and socket it was started with cannot be read here; nothing was started: give --detach the daemon's own socket, or, if this is it (every socket of that daemon has a client policy), it is already running (${stop})`,
    );
  }
  if (!samePath(started.socket, resolve(socketPath))) {
    throw new ConfigError(
      `'${socketPath}' is a listener of a running broker daemon (pid ${pid}), with a client policy (${printable(refusal, 300)}); nothing was started: give --detach the daemon's own socket, '${printable(started.socket, 300)}'`,
    );
  }

  const running = `a broker daemon (pid ${pid}, version ${version}) is already running on '${socketPath}'`;
  const differences: string[] = [];
  if (!samePath(started.config, resolve(configPath))) {
    differences.push(
      `it runs config '${printable(started.config, 300)}', and this command was given '${resolve(configPath)}'`,
    );
  }
  if (version !== VERSION) differences.push(`this command is version ${VERSION}`);
  if (differences.length > 0) {
    throw new ConfigError(
      `${running}, but ${differences.join(', and ')}; nothing was started: stop it first (${stop}), then start this one, or leave it running`,
    );
  }
  const config = `with config '${printable(started.config, 300)}'`;
  // Whether it has loaded the file's current content only `status` says.
  print(
    `${running} ${config}; nothing to start (every socket of it has a client policy, so whether it has loaded the file's latest content cannot be told: kill -HUP ${pid} reloads it)\n`,
  );
  return true;
}
