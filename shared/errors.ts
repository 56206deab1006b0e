/**
 * The error family every part of the broker throws and the wire protocol
 * carries. Each kind has a stable `code`, a message that says what failed
 * (subject quoted, then the fix), and an optional `hint`.
 *
 * A message never contains a secret: callers pass names, paths and ids,
 * never tokens or keys.
 */

/** Stable codes; the helper and tests match on these, never on messages. */
export const ERROR_CODES = [
  'CONFIG',
  'GITHUB_API',
  'DAEMON_UNREACHABLE',
  'VERSION_MISMATCH',
  'DENIED',
  'BAD_REQUEST',
  'NO_INTEGRATION',
  'PROVIDER',
  'AUDIT',
  'TIMEOUT',
  'INTERNAL',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** Whether a code from elsewhere (a daemon's reply) is one this release knows. */
export function isErrorCode(code: unknown): code is ErrorCode {
  return (ERROR_CODES as readonly unknown[]).includes(code);
}

export interface BrokerErrorOptions {
  hint?: string;
  /** True when git cannot recover by asking another helper or the user. */
  quit?: boolean;
  cause?: unknown;
}

/** Base of the family. Programmer misuse throws TypeError instead. */
export class BrokerError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly quit: boolean;

  constructor(code: ErrorCode, message: string, options: BrokerErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = options.hint;
    this.quit = options.quit ?? false;
  }
}

/** The configuration file or a file it names is wrong. */
export class ConfigError extends BrokerError {
  constructor(message: string, options: BrokerErrorOptions = {}) {
    super('CONFIG', message, { quit: true, ...options });
  }
}

/** GitHub (or a GitHub Enterprise Server) answered with an error. */
export class GitHubApiError extends BrokerError {
  readonly status: number | undefined;

  constructor(message: string, options: BrokerErrorOptions & { status?: number } = {}) {
    super('GITHUB_API', message, options);
    this.status = options.status;
  }
}

/** A provider other than GitHub failed to produce a credential. */
export class ProviderError extends BrokerError {
  constructor(message: string, options: BrokerErrorOptions = {}) {
    super('PROVIDER', message, options);
  }
}

/** The helper could not talk to the daemon. */
export class DaemonUnreachableError extends BrokerError {
  /**
   * True only when nothing listens on the socket (no file, or a stale one):
   * the one case in which starting a daemon can help. A daemon that is
   * there but busy, slow or failing must not get a second one started.
   */
  readonly noDaemon: boolean;
  /**
   * True when what answered on the socket answered in no version of the
   * broker's protocol: another program, which no upgrade or restart of
   * the broker fixes.
   */
  readonly notBroker: boolean;

  constructor(
    message: string,
    options: BrokerErrorOptions & { noDaemon?: boolean; notBroker?: boolean } = {},
  ) {
    super('DAEMON_UNREACHABLE', message, options);
    this.noDaemon = options.noDaemon ?? false;
    this.notBroker = options.notBroker ?? false;
  }
}

/**
 * The daemon is shutting down: it answers the requests it had, and refuses
 * new ones with this until its socket goes (by `untilMs` at the latest).
 * Nothing serves there meanwhile, and a new daemon can take the socket
 * once it has gone: noDaemon, as for no daemon at all.
 */
export class DaemonStoppingError extends DaemonUnreachableError {
  readonly pid: number;
  readonly untilMs: number;

  constructor(
    message: string,
    stopping: { pid: number; untilMs: number },
    options: BrokerErrorOptions = {},
  ) {
    super(message, { ...options, noDaemon: true });
    this.pid = stopping.pid;
    this.untilMs = stopping.untilMs;
  }
}

/**
 * A broker daemon answered, but it is of another release than this helper
 * and cannot serve what was asked (a daemon left running after an
 * upgrade): it is running, and restarting it is the fix.
 */
export class VersionMismatchError extends BrokerError {
  constructor(message: string, options: BrokerErrorOptions = {}) {
    super('VERSION_MISMATCH', message, { quit: true, ...options });
  }
}

/** The request is well formed but the broker will not serve it. */
export class RequestDeniedError extends BrokerError {
  constructor(message: string, options: BrokerErrorOptions = {}) {
    super('DENIED', message, { quit: true, ...options });
  }
}

/** The request is malformed: git's input or a wire message. */
export class BadRequestError extends BrokerError {
  constructor(message: string, options: BrokerErrorOptions = {}) {
    super('BAD_REQUEST', message, { quit: true, ...options });
  }
}

/** No integration serves the requested host; git may ask another helper. */
export class NoIntegrationError extends BrokerError {
  constructor(message: string, options: BrokerErrorOptions = {}) {
    super('NO_INTEGRATION', message, { quit: false, ...options });
  }
}

/**
 * The audit log cannot be written: the broker hands out no credential it
 * cannot record.
 */
export class AuditLogError extends BrokerError {
  constructor(message: string, options: BrokerErrorOptions = {}) {
    super('AUDIT', message, { quit: true, ...options });
  }
}

/** Turns anything thrown into a BrokerError without leaking its message. */
export function toBrokerError(error: unknown, where: 'daemon' | 'helper' = 'daemon'): BrokerError {
  if (error instanceof BrokerError) return error;
  const details = where === 'daemon' ? 'see the daemon log for details' : 'please report it';
  return new BrokerError('INTERNAL', `internal error in the broker ${where}; ${details}`, {
    cause: error,
  });
}
