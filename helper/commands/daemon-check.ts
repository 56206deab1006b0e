/**
 * What configure says about the daemon git's helper will ask: a warning
 * when no daemon answers on the helper's socket (and whether autostart will
 * start one), when the daemon there serves other hosts only, or when
 * something else holds the socket. configure writes all the same, since the
 * daemon may start or change its config later, and its exit code does not
 * change. A listener with a client policy refuses `status`: then nothing is
 * said, rather than a guess.
 */
import { MAX_CONFIG_BYTES, readRegularFileSync } from '../../shared/regular-file.js';
import { normalizeHost } from '../../shared/hosts.js';
import { resolveConfigPath, resolveSocketPath } from '../../shared/paths.js';
import { printable, shellQuote } from '../../shared/printable.js';
import { describeOperator, otherOperator } from '../../shared/socket-operator.js';
import type { HostOption } from './host-option.js';
import { socketHolder } from './socket-holder.js';

/** The hosts a config file names, lowercase, and whether it turns autostart on; undefined when unreadable. */
function readConfig(path: string): { autostart: boolean; hosts: string[] | undefined } | undefined {
  let config: unknown;
  try {
    config = JSON.parse(readRegularFileSync(path, MAX_CONFIG_BYTES).toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof config !== 'object' || config === null) return undefined;
  const { autostart, integrations } = config as { autostart?: unknown; integrations?: unknown };
  const hosts = Array.isArray(integrations)
    ? integrations.flatMap((integration: { host?: unknown } | null) =>
        typeof integration?.host === 'string' ? [integration.host.toLowerCase()] : [],
      )
    : undefined;
  return { autostart: autostart === true, hosts };
}

function quoted(hosts: string[]): string {
  return hosts.map((host) => `'${printable(host, 100)}'`).join(', ');
}

/**
 * Warnings about the daemon on the socket the helper will use for `host`:
 * `socket`, the --socket configure writes, else the one this environment
 * names (as the helper resolves it when git runs it).
 */
export async function daemonWarnings(
  target: HostOption,
  socket: string | undefined,
  env: NodeJS.ProcessEnv,
): Promise<string[]> {
  let socketPath: string;
  try {
    socketPath = resolveSocketPath(env, socket);
  } catch (error) {
    return [(error as Error).message];
  }
  const url = `${target.protocol}://${target.host}`;
  // How the daemon serves it: `127.0.0.1:80` over http is `127.0.0.1`.
  const host = normalizeHost(target.protocol, target.host);
  const on = `'${printable(socketPath, 300)}'`;
  const option = socket === undefined ? '' : ` --socket ${shellQuote(socket)}`;
  const holder = await socketHolder(socketPath);
  // A sandbox on another user's listener starts and restarts nothing there.
  const operator = otherOperator(socketPath);
  const ask =
    operator === undefined
      ? undefined
      : `it is run by ${describeOperator(operator)}, not by this user: ask whoever operates it to`;

  switch (holder.kind) {
    case 'restricted':
      return [];
    case 'other-release':
      if (ask !== undefined) {
        return [
          `a broker daemon of another release runs on ${on} (${holder.version === undefined ? 'its version unknown' : `version ${holder.version}`}), and git's helper cannot use it; ${ask} restart it with this release, then run git again`,
        ];
      }
      return [
        `a broker daemon of another release runs on ${on} (${holder.version === undefined ? 'its version unknown' : `version ${holder.version}`}), and git's helper cannot use it: restart it with this release (git-credential-broker stop${option}, then daemon --detach${option})`,
      ];
    case 'stopping': {
      const autostart = readConfig(resolveConfigPath(env))?.autostart === true;
      const then =
        ask !== undefined
          ? `${ask} start the next one, then run git again`
          : autostart
            ? 'autostart starts a new one on first use once it has (a git command meanwhile waits for it)'
            : `then start one with 'git-credential-broker daemon --detach${option}'`;
      return [
        `the broker daemon on ${on} (pid ${holder.pid}) is stopping, so git gets no credential for ${url} there until it has exited; ${then}`,
      ];
    }
    case 'failed':
      return [
        `the broker daemon on ${on} answered status with an error (${holder.answer}), so git may get no credential for ${url} there: its log says why`,
      ];
    case 'other':
      return [
        `${on} does not answer as a broker daemon (${printable(holder.reason, 300)}), so git gets no credential for ${url} there until a broker daemon does`,
      ];
    case 'nothing': {
      const configPath = resolveConfigPath(env);
      const config = readConfig(configPath);
      const file = `'${printable(configPath, 300)}'`;
      // Autostart starts nothing on another user's socket (autostart.ts).
      if (ask !== undefined) {
        return [
          `no broker daemon answers on ${on} yet, so git gets no credential for ${url} until one does; ${ask} start it, then run git again`,
        ];
      }
      if (config?.autostart !== true) {
        return [
          `no broker daemon answers on ${on} yet, so git gets no credential for ${url} until one does: start it with 'git-credential-broker daemon --detach${option}', or have the helper start it on first use ("autostart": true in ${file})`,
        ];
      }
      const unserved = config.hosts !== undefined && !config.hosts.includes(host);
      return [
        unserved
          ? `no broker daemon answers on ${on} yet; autostart will start one on first use, but its config (${file}) has no integration for ${host} (only ${quoted(config.hosts!) || 'none'}): add one, or git gets no credential for ${url}`
          : `no broker daemon answers on ${on} yet; it will be started on first use (autostart is on in ${file})`,
      ];
    }
  }

  const { status } = holder;
  // Shape-checked by socketHolder.
  const hosts = status.integrations.map((integration) => integration.host.toLowerCase());
  if (hosts.includes(host)) return [];
  const serves = hosts.length === 0 ? 'serves no host' : `serves ${quoted(hosts)} only`;
  return [
    `the broker daemon on ${on} ${serves}, so git gets no credential for ${url} from it: add an integration for ${host} to its config ('${printable(status.config, 300)}'), then run 'git-credential-broker reload${option}'`,
  ];
}
