/**
 * Routes each request to the integration configured for its host, and
 * refuses what no integration should serve.
 */
import { isLoopbackHost, normalizeHost } from '../shared/hosts.js';
import { BadRequestError, NoIntegrationError, RequestDeniedError } from '../shared/errors.js';
import type { CredentialTarget } from '../shared/protocol.js';
import type { IntegrationConfig } from './config.js';
import type { CredentialProvider } from './provider.js';

export interface Integration {
  config: IntegrationConfig;
  provider: CredentialProvider;
}

/** Routes remembered, at most; the hosts one daemon serves are few. */
const ROUTES_KEPT = 256;

export class ProviderRegistry {
  #byHost = new Map<string, Integration>();
  /**
   * Integration by protocol and host exactly as git sent them, for targets
   * already routed: every request is routed, and working the host out again
   * (normalized, loopback or not) was a noticeable part of a cache hit.
   */
  #routed = new Map<string, Integration>();

  constructor(integrations: Integration[]) {
    this.replaceAll(integrations);
  }

  /** Swaps in a new set of integrations at once (config reload). */
  replaceAll(integrations: Integration[]): void {
    const byHost = new Map<string, Integration>();
    for (const integration of integrations) {
      // Validated configs have distinct names; one host, one integration.
      if (byHost.has(integration.config.host)) {
        throw new TypeError(`two integrations for host '${integration.config.host}'`);
      }
      byHost.set(integration.config.host, integration);
    }
    this.#byHost = byHost;
    this.#routed = new Map();
  }

  get integrations(): Integration[] {
    return [...this.#byHost.values()];
  }

  /**
   * The host for a request that named none (`token owner/repo` without
   * --host): the one host an integration serves. With several, which one
   * is meant is a guess (an owner/repo on two hosts is two repositories),
   * so the request is refused with the hosts to choose from. Host names are
   * not secret, and a client on a restricted socket could learn them by
   * asking for each: they are listed on every socket.
   */
  soleHost(): string {
    const hosts = [...this.#byHost.keys()];
    if (hosts.length === 1) return hosts[0]!;
    throw new BadRequestError(
      `no host was named, and this daemon serves several: ${hosts.join(', ')}; pass --host with one of them, or give a clone URL`,
    );
  }

  /** The integration serving `target`; throws when none may. */
  route(target: CredentialTarget): Integration {
    // Length-prefixed: no protocol and host can spell another pair's key.
    const key = `${target.protocol.length}:${target.protocol}${target.host}`;
    const known = this.#routed.get(key);
    if (known !== undefined) return known;
    const integration = this.#route(target);
    if (this.#routed.size >= ROUTES_KEPT) this.#routed.clear();
    this.#routed.set(key, integration);
    return integration;
  }

  #route(target: CredentialTarget): Integration {
    const host = normalizeHost(target.protocol, target.host);
    const integration = this.#byHost.get(host);
    if (!integration) {
      // The hosts served, as soleHost() says them: a typo in a host is then plain to see.
      throw new NoIntegrationError(
        `no integration is configured for host '${host}' (this daemon serves ${[...this.#byHost.keys()].join(', ')})`,
        {
          hint: 'add one to the broker config, or configure this helper only for the hosts it serves',
        },
      );
    }
    if (target.protocol === 'https') return integration;
    if (target.protocol === 'http') {
      // A token sent over plain HTTP can be read by anyone on the path.
      if (isLoopbackHost(host)) return integration;
      throw new RequestDeniedError(
        `refusing to send a credential for '${host}' over plain http; use an https:// remote URL`,
      );
    }
    throw new NoIntegrationError(
      `protocol '${target.protocol}' is not served for '${host}'; the broker serves https`,
    );
  }
}
