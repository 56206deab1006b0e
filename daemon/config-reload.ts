/**
 * SIGHUP: reloads the config file (and the private keys it names) and swaps
 * the integrations in place. Requests already routed keep the integration
 * they started with, so none is dropped; cached tokens stay valid because a
 * cache key names everything a token depends on. An integration whose
 * config (key included) did not change keeps its provider, and with it what
 * the provider learnt (installations, GitHub's clock), so its hits stay free.
 * A config that fails to load changes nothing.
 */
import type { Logger } from 'pino';
import { toBrokerError } from '../shared/errors.js';
import { printable, withoutTokens } from '../shared/printable.js';
import { RECENT_RELOADS, type ReloadOutcome } from '../shared/protocol.js';
import { loadConfig, tokenFreeError, type DaemonConfig } from './config.js';
import type { Integration, ProviderRegistry } from './provider-registry.js';

/** Reload outcomes kept for status: defined with the protocol, which `reload` reads. */
export { RECENT_RELOADS };

export interface ConfigReloaderOptions {
  configPath: string;
  env: Record<string, string | undefined>;
  log: Logger;
  registry: ProviderRegistry;
  current: DaemonConfig;
  createIntegrations(config: DaemonConfig): Integration[];
}

export class ConfigReloader {
  readonly #options: ConfigReloaderOptions;
  #current: DaemonConfig;
  // Reloads run one at a time; a signal during one queues the next.
  #queue: Promise<boolean> = Promise.resolve(true);
  /** The last RECENT_RELOADS outcomes, oldest first. */
  readonly #recent: ReloadOutcome[] = [];

  constructor(options: ConfigReloaderOptions) {
    this.#options = options;
    this.#current = options.current;
  }

  get config(): DaemonConfig {
    return this.#current;
  }

  /** How the last reload ended, for status. */
  get lastReload(): ReloadOutcome | undefined {
    return this.#recent.at(-1);
  }

  /**
   * The last few outcomes, for `reload`, which waits for the first one asked
   * for after its signal: with one outcome only, two reloads close together
   * took each other's (found in review).
   */
  get recentReloads(): ReloadOutcome[] {
    return [...this.#recent];
  }

  /** Resolves true when the new config is in use, false when it was refused. */
  reload(): Promise<boolean> {
    const requestedAtMs = Date.now();
    this.#queue = this.#queue.then(() => this.#reload(requestedAtMs));
    return this.#queue;
  }

  #ended(outcome: Omit<ReloadOutcome, 'count' | 'atMs'>): void {
    const count = (this.#recent.at(-1)?.count ?? 0) + 1;
    this.#recent.push({ count, atMs: Date.now(), ...outcome });
    if (this.#recent.length > RECENT_RELOADS) this.#recent.shift();
  }

  #keepUnchanged(fresh: Integration[]): Integration[] {
    const previous = new Map(
      this.#options.registry.integrations.map((integration) => [
        JSON.stringify(integration.config),
        integration,
      ]),
    );
    return fresh.map(
      (integration) => previous.get(JSON.stringify(integration.config)) ?? integration,
    );
  }

  async #reload(requestedAtMs: number): Promise<boolean> {
    const { log, configPath, env, registry } = this.#options;
    let next: DaemonConfig;
    try {
      next = await loadConfig(configPath, env);
      registry.replaceAll(this.#keepUnchanged(this.#options.createIntegrations(next)));
    } catch (caught) {
      // A provider's own checks quote the config too.
      const error = tokenFreeError(caught);
      log.error(
        { err: error, config: configPath },
        'config reload failed; still serving with the previous config',
      );
      this.#ended({
        requestedAtMs,
        ok: false,
        error: withoutTokens(printable(toBrokerError(error).message, 1000)),
      });
      return false;
    }

    // Compared with what the daemon started with, which is what it still
    // uses: not with the last file loaded, or changing a value and back
    // warned about a file the daemon never opened.
    const started = this.#options.current;
    const needsRestart: string[] = [];
    if (JSON.stringify(next.listeners) !== JSON.stringify(started.listeners)) {
      log.warn('listeners changes take effect on restart; the sockets and their policies stay');
      needsRestart.push('listeners (the sockets and their policies stay as they were)');
    }
    if (next.auditLog !== started.auditLog) {
      log.warn(
        { auditLog: started.auditLog, wanted: next.auditLog },
        'auditLog changes take effect on restart; still writing to the old file',
      );
      needsRestart.push(`auditLog (still writing to '${printable(started.auditLog, 300)}')`);
    }
    for (const warning of next.warnings) log.warn({ config: next.path }, warning);
    const warnings = next.warnings.map((warning) => withoutTokens(printable(warning, 1000)));
    this.#current = next;
    this.#ended({
      requestedAtMs,
      ok: true,
      ...(needsRestart.length > 0 ? { needsRestart } : {}),
      ...(warnings.length > 0 ? { warnings } : {}),
    });
    log.info(
      { config: next.path, integrations: next.integrations.map(({ name }) => name) },
      'config reloaded',
    );
    return true;
  }
}
