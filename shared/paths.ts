/**
 * Where the broker keeps its socket, configuration and audit log.
 * Every function takes the environment explicitly so tests and the demo can
 * run beside a user's real daemon without touching it.
 */
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { BadRequestError, ConfigError } from './errors.js';

export const APP_DIR = 'git-credential-broker';

/** Environment variable that overrides the socket path. */
export const SOCKET_ENV = 'GIT_CREDENTIAL_BROKER_SOCKET';
/** Environment variable that overrides the configuration file path. */
export const CONFIG_ENV = 'GIT_CREDENTIAL_BROKER_CONFIG';

// sun_path holds 108 bytes on Linux and 104 on macOS, terminator included.
const MAX_SOCKET_PATH_BYTES = 103;

export type Env = Record<string, string | undefined>;

export function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/**
 * One of the broker's own variables, undefined when unset. Set but empty
 * (or blank) is refused rather than read as unset, as curl and git mostly
 * do: a broker that silently used the default config or socket would hand
 * out the tokens, or obey the policies, of another configuration than the
 * one meant, and an empty value is nearly always a variable a script or
 * compose file meant to fill in. `--config ''` and `--socket ''` are
 * refused for the same reason.
 */
function brokerVariable(
  env: Env,
  name: string,
  what: string,
  fallback: () => string,
): string | undefined {
  const value = env[name];
  if (value === undefined || value.trim() !== '') return value;
  throw new ConfigError(
    `${name} is set but empty; set it to the ${what}, or unset it (unset ${name}) to use the default, '${fallback()}'`,
  );
}

export function home(env: Env): string {
  return nonEmpty(env.HOME) ?? homedir();
}

/**
 * The daemon's socket: `--socket`, else $GIT_CREDENTIAL_BROKER_SOCKET, else
 * $XDG_RUNTIME_DIR/git-credential-broker/daemon.sock, else
 * $XDG_CACHE_HOME (default ~/.cache)/git-credential-broker/daemon.sock.
 * The variable set but empty is refused (ConfigError).
 */
export function resolveSocketPath(env: Env, flag?: string): string {
  // `--socket=` with nothing after it is a mistake, not "use the default";
  // like any fault in --socket, a malformed command line (exit 2), where
  // one in the environment is a configuration problem.
  if (flag !== undefined && flag.trim() === '') {
    throw new BadRequestError(`--socket was given an empty path; give the daemon's socket path`);
  }
  const fallback = (): string =>
    join(
      nonEmpty(env.XDG_RUNTIME_DIR) ?? nonEmpty(env.XDG_CACHE_HOME) ?? join(home(env), '.cache'),
      APP_DIR,
      'daemon.sock',
    );
  const path =
    nonEmpty(flag) ??
    brokerVariable(env, SOCKET_ENV, "daemon's socket path", fallback) ??
    fallback();
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH_BYTES) {
    const Fault = nonEmpty(flag) === undefined ? ConfigError : BadRequestError;
    throw new Fault(
      `socket path '${path}' is longer than ${MAX_SOCKET_PATH_BYTES} bytes, the limit for Unix sockets; choose a shorter path with --socket or ${SOCKET_ENV}`,
    );
  }
  return asSocketPath(path);
}

/**
 * A socket path Node cannot take for a TCP port. Node reads a string that
 * looks like a number as a port, in connect() and listen() alike: found in
 * review, `--socket 18080` had the helper send git's password to
 * 127.0.0.1:18080, and a daemon would have listened on that port on every
 * interface. A relative path is marked as one.
 */
export function asSocketPath(path: string): string {
  return isAbsolute(path) || path.startsWith('./') || path.startsWith('../') ? path : `./${path}`;
}

/**
 * The configuration file: `--config`, else $GIT_CREDENTIAL_BROKER_CONFIG,
 * else $XDG_CONFIG_HOME (default ~/.config)/git-credential-broker/config.json.
 * The variable set but empty is refused (ConfigError).
 */
export function resolveConfigPath(env: Env, flag?: string): string {
  // As for --socket: `--config=` with nothing after it is a mistake, and
  // running on the default config instead would surprise (found in review).
  if (flag !== undefined && flag.trim() === '') {
    throw new BadRequestError(`--config was given an empty path; give the config file's path`);
  }
  const fallback = (): string =>
    join(nonEmpty(env.XDG_CONFIG_HOME) ?? join(home(env), '.config'), APP_DIR, 'config.json');
  return (
    nonEmpty(flag) ?? brokerVariable(env, CONFIG_ENV, "config file's path", fallback) ?? fallback()
  );
}

/** Default audit log: $XDG_STATE_HOME (default ~/.local/state)/git-credential-broker/audit.log. */
export function defaultAuditLogPath(env: Env): string {
  return join(
    nonEmpty(env.XDG_STATE_HOME) ?? join(home(env), '.local', 'state'),
    APP_DIR,
    'audit.log',
  );
}
