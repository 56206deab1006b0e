/**
 * Builds the daemon from its parts and runs it until a signal stops it.
 */
import pino, { type Logger } from 'pino';
import { ConfigError } from '../shared/errors.js';
import { VERSION } from '../shared/version.js';
import { AuditLog, REDACT_PATHS } from './audit-log.js';
import { loadConfig, type DaemonConfig } from './config.js';
import { ConfigReloader } from './config-reload.js';
import { stderrDestination } from './stderr-log.js';
import { IdleCompactor, tuneHeapForDaemon } from './heap-tuning.js';
import { CredentialService } from './credential-service.js';
import { ProviderRegistry, type Integration } from './provider-registry.js';
import { PROVIDER_KINDS } from './providers/index.js';
import { closeListeners, startListeners, type RunningListener } from './listener.js';
import { isRestricted, type DaemonControl } from './socket-server.js';
import { TokenCache } from './token-cache.js';
import { TokenRevoker } from './token-revoker.js';

/**
 * How long the shutdown gives the revocations that failed at erase time:
 * a stop must end within what `stop` waits (30 s), requests in flight first.
 */
export const SHUTDOWN_RETRY_MS = 3_000;

export interface DaemonOptions {
  configPath: string;
  socketPath: string;
  env: Record<string, string | undefined>;
  log?: Logger;
}

export interface RunningDaemon {
  config: DaemonConfig;
  socketPath: string;
  /** Resolves once the daemon has stopped, whoever asked. */
  stopped: Promise<void>;
  stop(): Promise<void>;
  /** Reloads the config file; false when it failed and the old one stays. */
  reload(): Promise<boolean>;
}

/** The daemon's own log (not the audit log): JSON lines on stderr. */
export function createDaemonLog(env: Record<string, string | undefined>): Logger {
  const level = env.GIT_CREDENTIAL_BROKER_LOG_LEVEL || 'info';
  if (!Object.hasOwn(pino.levels.values, level) && level !== 'silent') {
    throw new ConfigError(
      `GIT_CREDENTIAL_BROKER_LOG_LEVEL '${level}' is not a log level; use one of ${Object.keys(pino.levels.values).join(', ')} or silent`,
    );
  }
  return pino(
    {
      name: 'git-credential-broker',
      level,
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    // Not pino.destination(2): its write errors are thrown (a full disk
    // under a --detach log hung the daemon); this one drops and counts.
    stderrDestination,
  );
}

function createIntegrations(config: DaemonConfig, log: Logger): Integration[] {
  return config.integrations.map((integration) => ({
    config: integration,
    provider: PROVIDER_KINDS[integration.provider]!.create(integration, {
      log: log.child({ integration: integration.name }),
      now: Date.now,
    }),
  }));
}

export async function startDaemon(options: DaemonOptions): Promise<RunningDaemon> {
  const log = options.log ?? createDaemonLog(options.env);
  const config = await loadConfig(options.configPath, options.env);
  // At warn level: `daemon --detach` shows what its daemon warned about.
  for (const warning of config.warnings) log.warn({ config: config.path }, warning);

  const registry = new ProviderRegistry(createIntegrations(config, log));
  const reloader = new ConfigReloader({
    configPath: options.configPath,
    env: options.env,
    log,
    registry,
    current: config,
    createIntegrations: (next) => createIntegrations(next, log),
  });
  const audit = await AuditLog.open(config.auditLog);
  const cache = new TokenCache({ log });
  const revoker = new TokenRevoker({ audit });
  const service = new CredentialService({ registry, cache, audit, revoker });
  const compactor = new IdleCompactor({
    activity: () => {
      const { hits, misses, denied, errors } = service.counters;
      return hits + misses + denied + errors;
    },
    log,
  });

  const startedAtMs = Date.now();
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));
  let listeners: RunningListener[] = [];
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      compactor.stop();
      await closeListeners(listeners);
      await service.drain();
      const cause = {
        reason: 'shutdown' as const,
        requestId: 'shutdown',
        requester: { pid: process.pid, ppid: process.ppid },
        listener: null,
        log,
      };
      if (reloader.config.revokeOnShutdown) {
        const revoked = await revoker.revokeAll(cause);
        log.info({ revoked }, 'revoked live tokens at shutdown');
      } else if (revoker.failedCount > 0) {
        // An erase asked for these; GitHub did not confirm them then. Within
        // a bound: a GitHub that is down would otherwise hold the stop past
        // what `stop` waits (found in review).
        const failed = revoker.failedCount;
        let timer: NodeJS.Timeout | undefined;
        const revoked = await Promise.race([
          revoker.retryFailed(cause),
          new Promise<undefined>((resolve) => {
            timer = setTimeout(() => resolve(undefined), SHUTDOWN_RETRY_MS);
          }),
        ]);
        clearTimeout(timer);
        if (revoked === undefined) {
          log.warn(
            { failed, waitedMs: SHUTDOWN_RETRY_MS },
            'GitHub did not answer the revocations retried at shutdown in time; those tokens expire on their own',
          );
        } else {
          log.info({ failed, revoked }, 'retried the revocations that had failed');
        }
      }
      // Lines nothing waits for (a refresh-ahead's mint) may still be queued.
      audit.flush();
      log.info('daemon stopped');
      resolveStopped();
    })();
    return stopping;
  };
  const control: DaemonControl = {
    status: async () => ({
      version: VERSION,
      pid: process.pid,
      startedAtMs,
      socket: options.socketPath,
      config: config.path,
      auditLog: config.auditLog,
      auditLogFailing: audit.failing,
      integrations: reloader.config.integrations.map(({ name, provider, host }) => ({
        name,
        provider,
        host,
      })),
      listeners: listeners.map(({ socket, policy }) => ({
        socket,
        ...(policy.allow === undefined ? {} : { allow: [...policy.allow] }),
        ...(policy.permissions === undefined ? {} : { permissions: policy.permissions }),
      })),
      cache: await service.cacheStatus(),
      counters: { ...service.counters },
      ...(reloader.lastReload === undefined
        ? {}
        : { lastReload: reloader.lastReload, recentReloads: reloader.recentReloads }),
    }),
    stop: () => void stop(),
    hasUnrestrictedSocket: () => listeners.some(({ policy }) => !isRestricted(policy)),
  };

  listeners = await startListeners({
    defaultSocket: options.socketPath,
    listeners: config.listeners,
    service,
    control,
    log,
    version: VERSION,
  });
  compactor.start();
  if (!control.hasUnrestrictedSocket()) {
    // Found in a new-user trial: a --socket that a listeners entry gives a
    // policy leaves no socket to stop the daemon through.
    log.warn(
      { pid: process.pid },
      `every socket of this daemon has a client policy, so status, stop and reload are refused on all of them; stop it with SIGTERM (kill -TERM ${process.pid})`,
    );
  }
  log.info(
    {
      socket: options.socketPath,
      listeners: listeners.map(({ socket, policy }) => ({
        socket,
        allow: policy.allow ?? '*',
        permissions: policy.permissions ?? 'integration',
      })),
      config: config.path,
      auditLog: config.auditLog,
      integrations: config.integrations.map(({ name, host, provider }) => ({
        name,
        host,
        provider,
      })),
      version: VERSION,
    },
    'daemon listening',
  );

  return {
    config,
    socketPath: options.socketPath,
    stopped,
    stop,
    reload: async () => {
      // SIGHUP is what logrotate sends: the audit log is opened anew too.
      audit.reopen();
      const reloaded = await reloader.reload();
      if (reloaded) {
        const dropped = await service.dropUnreachable();
        if (dropped > 0) {
          log.info({ dropped }, 'dropped cached tokens that the new config no longer serves');
        }
      }
      return reloaded;
    },
  };
}

/**
 * Runs until SIGTERM or SIGINT, finishing requests in flight first; SIGHUP
 * reloads the config without dropping a request.
 */
export async function runDaemon(options: DaemonOptions): Promise<void> {
  tuneHeapForDaemon();
  const daemon = await startDaemon(options);
  // Handlers stay until exit: a second signal while stopping joins the same
  // graceful stop instead of killing the process mid-flush, and a late
  // SIGHUP must not kill a draining daemon.
  const reload = (): void => void daemon.reload();
  const shutdown = (): void => void daemon.stop();
  process.on('SIGHUP', reload);
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  await daemon.stopped;
}
