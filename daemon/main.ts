/**
 * Builds the daemon from its parts and runs it until a signal stops it.
 */
import pino, { type Logger } from 'pino';
import { VERSION } from '../shared/version.js';
import { AuditLog, REDACT_PATHS } from './audit-log.js';
import { loadConfig, type DaemonConfig } from './config.js';
import { ConfigReloader } from './config-reload.js';
import { CredentialService } from './credential-service.js';
import { ProviderRegistry, type Integration } from './provider-registry.js';
import { PROVIDER_KINDS } from './providers/index.js';
import { claimSocketPath } from './socket-file.js';
import { SocketServer } from './socket-server.js';
import { TokenCache } from './token-cache.js';

export interface DaemonOptions {
  configPath: string;
  socketPath: string;
  env: Record<string, string | undefined>;
  log?: Logger;
}

export interface RunningDaemon {
  config: DaemonConfig;
  socketPath: string;
  stop(): Promise<void>;
  /** Reloads the config file; false when it failed and the old one stays. */
  reload(): Promise<boolean>;
}

/** The daemon's own log (not the audit log): JSON lines on stderr. */
export function createDaemonLog(env: Record<string, string | undefined>): Logger {
  return pino(
    {
      name: 'git-credential-broker',
      level: env.GIT_CREDENTIAL_BROKER_LOG_LEVEL ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    pino.destination(2),
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
  const service = new CredentialService({ registry, cache, audit });

  await claimSocketPath(options.socketPath);
  const server = new SocketServer({
    socketPath: options.socketPath,
    service,
    log,
    version: VERSION,
  });
  await server.listen();
  log.info(
    {
      socket: options.socketPath,
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
    async stop() {
      await server.close();
      await service.drain();
      await audit.flush();
      log.info('daemon stopped');
    },
    reload: () => reloader.reload(),
  };
}

/**
 * Runs until SIGTERM or SIGINT, finishing requests in flight first; SIGHUP
 * reloads the config without dropping a request.
 */
export async function runDaemon(options: DaemonOptions): Promise<void> {
  const daemon = await startDaemon(options);
  // Kept through shutdown: a late SIGHUP must not kill a draining daemon.
  const reload = (): void => void daemon.reload();
  process.on('SIGHUP', reload);
  await new Promise<void>((resolve) => {
    const shutdown = (): void => {
      process.off('SIGTERM', shutdown);
      process.off('SIGINT', shutdown);
      void daemon.stop().then(resolve, resolve);
    };
    process.on('SIGTERM', shutdown);
    process.on('SIGINT', shutdown);
  });
}
