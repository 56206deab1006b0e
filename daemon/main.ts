/**
 * Builds the daemon from its parts and runs it until a signal stops it.
 */
import pino, { type Logger } from 'pino';
import { ConfigError } from '../shared/errors.js';
import type { DaemonStatus } from '../shared/protocol.js';
import { VERSION } from '../shared/version.js';
import { AuditLog, REDACT_PATHS } from './audit-log.js';
import { loadConfig, type DaemonConfig } from './config.js';
import { ConfigReloader } from './config-reload.js';
import { stderrDestination } from './stderr-log.js';
import { IdleCompactor, tuneHeapForDaemon } from './heap-tuning.js';
import { CredentialService } from './credential-service.js';
import { ProviderRegistry, type Integration } from './provider-registry.js';
import { ChildGroups } from './providers/child-groups.js';
import { PROVIDER_KINDS } from './providers/index.js';
import { listenerStatus, startListeners, type RunningListener } from './listener.js';
import { shutDown } from './shutdown.js';
import { isRestricted, type DaemonControl } from './control-ops.js';
import { TokenCache } from './token-cache.js';
import { TokenRevoker } from './token-revoker.js';

export interface DaemonOptions {
  configPath: string;
  socketPath: string;
  env: Record<string, string | undefined>;
  log?: Logger;
}

export interface RunningDaemon {
  config: DaemonConfig;
  /** The processes its providers started. */
  children: ChildGroups;
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

function createIntegrations(
  config: DaemonConfig,
  log: Logger,
  children: ChildGroups,
): Integration[] {
  return config.integrations.map((integration) => ({
    config: integration,
    provider: PROVIDER_KINDS[integration.provider]!.create(integration, {
      log: log.child({ integration: integration.name }),
      now: Date.now,
      children,
    }),
  }));
}

/** What status and the startup log say of each integration. */
function describeIntegrations(integrations: Integration[]): DaemonStatus['integrations'] {
  return integrations.map(({ config, provider }) => ({
    name: config.name,
    provider: config.provider,
    host: config.host,
    ...(provider.api === undefined ? {} : { api: provider.api }),
  }));
}

export async function startDaemon(options: DaemonOptions): Promise<RunningDaemon> {
  const log = options.log ?? createDaemonLog(options.env);
  const config = await loadConfig(options.configPath, options.env);
  // At warn level: `daemon --detach` shows what its daemon warned about.
  for (const warning of config.warnings) log.warn({ config: config.path }, warning);

  // One for the daemon's life: a reload's new providers share it, and the
  // old ones' programs still running are in it too.
  const children = new ChildGroups();
  const registry = new ProviderRegistry(createIntegrations(config, log, children));
  const reloader = new ConfigReloader({
    configPath: options.configPath,
    env: options.env,
    log,
    registry,
    current: config,
    createIntegrations: (next) => createIntegrations(next, log, children),
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
      await shutDown({
        listeners,
        service,
        revoker,
        audit,
        log,
        revokeOnShutdown: reloader.config.revokeOnShutdown,
        children,
        // As reloaded: a SIGHUP that changed it applies to the next stop.
        budgetMs: reloader.config.shutdownTimeoutSeconds * 1000,
      });
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
      configSha256: reloader.config.sha256,
      auditLog: config.auditLog,
      auditLogFailing: audit.failing,
      shutdownTimeoutSeconds: reloader.config.shutdownTimeoutSeconds,
      integrations: describeIntegrations(registry.integrations),
      listeners: listeners.map(listenerStatus),
      cache: await service.cacheStatus(),
      counters: { ...service.counters },
      ...(reloader.lastReload === undefined
        ? {}
        : { lastReload: reloader.lastReload, recentReloads: reloader.recentReloads }),
    }),
    reloads: () => {
      const last = reloader.lastReload;
      return last === undefined
        ? { ended: 0 }
        : { ended: last.count, lastRequestedAtMs: last.requestedAtMs };
    },
    stop: () => void stop(),
    shutdownTimeoutMs: () => reloader.config.shutdownTimeoutSeconds * 1000,
    hasUnrestrictedSocket: () => listeners.some(({ policy }) => !isRestricted(policy)),
    unrestrictedSocket: () => listeners.find(({ policy }) => !isRestricted(policy))?.socket,
    inFlight: () => listeners.reduce((sum, { server }) => sum + server.inFlight, 0),
  };

  try {
    listeners = await startListeners({
      defaultSocket: options.socketPath,
      listeners: config.listeners,
      service,
      control,
      log,
      version: VERSION,
    });
  } catch (error) {
    // startListeners removed what it made. The audit log is closed but its
    // file stays (another daemon may write to it by now), and with it the
    // directories made for it; any of those left empty are removed.
    audit.discard();
    throw error;
  }
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
        group: policy.group ?? 'none',
        maxMintsPerMinute: policy.maxMintsPerMinute ?? 'none',
      })),
      config: config.path,
      auditLog: config.auditLog,
      // With the proxy each API is reached through (host:port, never its
      // credentials), or none and whether NO_PROXY excluded it.
      integrations: describeIntegrations(registry.integrations),
      version: VERSION,
    },
    'daemon listening',
  );

  return {
    config,
    children,
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

/** How long a stopped daemon's process may take to exit on its own. */
const EXIT_GRACE_MS = 200;

/**
 * Runs until SIGTERM or SIGINT, finishing requests in flight first; SIGHUP
 * reloads the config without dropping a request.
 */
export async function runDaemon(options: DaemonOptions): Promise<void> {
  tuneHeapForDaemon();
  const log = options.log ?? createDaemonLog(options.env);
  const daemon = await startDaemon({ ...options, log });
  // However the process ends (an uncaught error included; SIGKILL is the
  // one way no code runs), no program a provider started outlives it.
  process.on('exit', () => {
    daemon.children.killAll(log, 'the daemon exited while it ran');
  });
  // Handlers stay until exit: a second signal while stopping joins the same
  // graceful stop instead of killing the process mid-flush, and a late
  // SIGHUP must not kill a draining daemon.
  const reload = (): void => void daemon.reload();
  const shutdown = (): void => void daemon.stop();
  process.on('SIGHUP', reload);
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  await daemon.stopped;
  // The shutdown is bounded, but what it stopped waiting for is not: a
  // request GitHub never answers keeps its sockets and timers, which would
  // keep the process alive past what `stop` waits. Exit soon in any case.
  setTimeout(() => process.exit(), EXIT_GRACE_MS).unref();
}
