/**
 * What `daemon --detach` makes of a daemon already on its socket: one it
 * may leave running, or one that differs, named with each difference and
 * the fix.
 */
import { resolve } from 'node:path';
import { configSha256 } from '../../shared/config-digest.js';
import { ConfigError } from '../../shared/errors.js';
import { printable, shellQuote } from '../../shared/printable.js';
import { MAX_CONFIG_BYTES, readProblem, readRegularFileSync } from '../../shared/regular-file.js';
import type { DaemonStatus } from '../../shared/protocol.js';
import { describeDeadline } from '../../shared/socket-lock-state.js';
import { VERSION } from '../../shared/version.js';
import { sandboxOnlyDaemon } from './sandbox-only-daemon.js';
import { samePath } from '../../shared/same-path.js';
import { checkBrokerDaemon, socketHolder } from './socket-holder.js';

/**
 * True when a broker daemon of this release already serves `socketPath`
 * with this config, as the file reads now: --detach then has nothing to do,
 * so a startup script may run it twice. Anything else on the path is
 * refused with what it is, and a daemon that differs with each way it
 * differs and the fix for it.
 */
export async function alreadyRunning(
  configPath: string,
  socketPath: string,
  print: (text: string) => void,
): Promise<boolean> {
  const holder = await socketHolder(socketPath);
  const stop = `git-credential-broker stop --socket ${shellQuote(socketPath)}`;
  switch (holder.kind) {
    case 'nothing':
      return false;
    case 'stopping':
      // launchDaemon waits for it to let go of the socket.
      print(
        `a broker daemon (pid ${holder.pid}) is stopping on '${socketPath}'; waiting for it to let go (${describeDeadline(holder.untilMs)}) to start a new one\n`,
      );
      return false;
    case 'other':
      throw new ConfigError(`${printable(holder.reason, 600)}; nothing was started`);
    case 'other-release':
      // Same version, other answers: a build of its own, or no broker.
      throw new ConfigError(
        holder.version === VERSION
          ? `'${socketPath}' answers as a broker daemon of version ${VERSION}, as this command, but not as this release does (${printable(holder.reason, 400)}); nothing was started: stop what listens there, or choose another path with --socket`
          : `a broker daemon of another release (${holder.version === undefined ? 'its version unknown' : `version ${holder.version}`}; this is version ${VERSION}) is running on '${socketPath}': ${printable(holder.reason, 400)}; nothing was started: stop it first (${stop}), then start this release`,
      );
    case 'failed':
      throw new ConfigError(
        `a broker daemon on '${socketPath}' answered status with an error (${holder.answer}); nothing was started: its log says why; stop it (${stop}) and start it again, or choose another path with --socket`,
      );
    case 'restricted':
      // A listener, or the daemon's own socket when every socket has a policy.
      return sandboxOnlyDaemon(configPath, socketPath, holder.refusal, print);
  }
  const { status } = holder;
  const running = `a broker daemon (pid ${status.pid}, version ${printable(status.version, 40)}) is already running on '${socketPath}' with config '${printable(status.config, 300)}'`;
  const differences = differencesFrom(status, resolve(configPath));
  if (differences.length > 0) {
    // Only the file's content differs: reload applies it in place.
    const fix = differences.every((difference) => difference.reloadFixes)
      ? `run git-credential-broker reload --socket ${shellQuote(socketPath)} to apply it (listeners and auditLog changes need a restart: ${stop}, then start it again)`
      : `stop it first (${stop}), then start this one, or leave it running`;
    throw new ConfigError(
      `${running}, but ${differences.map(({ what }) => what).join(', and ')}; nothing was started: ${fix}`,
    );
  }
  try {
    // The answers above are the holder's word: a fake daemon could give them.
    checkBrokerDaemon(status.pid);
  } catch (error) {
    throw new ConfigError(
      `'${socketPath}' answers as a broker daemon, but ${(error as Error).message.replace(/^the daemon /, 'it ')}; nothing was started`,
    );
  }
  print(`${running}; nothing to start\n`);
  return true;
}

/**
 * How the running daemon differs from the one --detach would start: its
 * config file, that file's content since the daemon read it, its release.
 * Found in review: only the path was compared, so a daemon serving a
 * config since edited, or of an older release, counted as "the same".
 */
function differencesFrom(
  status: DaemonStatus,
  configPath: string,
): { what: string; reloadFixes: boolean }[] {
  const differences: { what: string; reloadFixes: boolean }[] = [];
  if (!samePath(configPath, status.config)) {
    differences.push({ what: `this command was given '${configPath}'`, reloadFixes: false });
  } else if (status.configSha256 !== undefined) {
    let now: string | undefined;
    try {
      now = configSha256(readRegularFileSync(configPath, MAX_CONFIG_BYTES));
    } catch (error) {
      differences.push({
        what: `'${configPath}' cannot be read here to compare (it ${readProblem(error)})`,
        reloadFixes: false,
      });
    }
    if (now !== undefined && now !== status.configSha256) {
      differences.push({
        what: `'${configPath}' has changed since the daemon loaded it`,
        reloadFixes: true,
      });
    }
  }
  if (status.version !== VERSION) {
    differences.push({ what: `this command is version ${VERSION}`, reloadFixes: false });
  }
  // Found in review: after a reload that changed listeners or auditLog the
  // daemon's configSha256 is the file's, yet it still runs the old ones,
  // and --detach said there was nothing to start.
  const pending = changesAwaitingRestart(status);
  if (pending.length > 0) {
    differences.push({
      what: `its last reload read changes that only a restart applies: ${pending.map((what) => printable(what, 300)).join('; ')}`,
      reloadFixes: false,
    });
  }
  return differences;
}

/**
 * What the config in use changed that the daemon applies only on restart:
 * said by its last reload that took (a refused one after it changed
 * nothing). Each reload compares with the config the daemon started with,
 * so the last one that took tells the whole.
 */
function changesAwaitingRestart(status: DaemonStatus): string[] {
  const reloads = status.recentReloads ?? (status.lastReload ? [status.lastReload] : []);
  const lastTaken = reloads.filter((outcome) => outcome.ok).at(-1);
  return lastTaken?.needsRestart ?? [];
}
