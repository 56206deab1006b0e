/**
 * The daemon's configuration file: JSON, validated on load. See the README's
 * Configuration section for every key and its default.
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import { normalizeHost } from '../shared/hosts.js';
import { BrokerError, ConfigError } from '../shared/errors.js';
import { defaultAuditLogPath } from '../shared/paths.js';
import { withoutTokens } from '../shared/printable.js';
import { DEFAULT_SHUTDOWN_TIMEOUT_MS, MAX_SHUTDOWN_TIMEOUT_MS } from '../shared/protocol.js';
import { readJson } from './config-file.js';
import { ConfigFields, describe, unknownKeysError } from './config-fields.js';
import { parseListeners, parseRevokeOnShutdown, type ListenerConfig } from './listener-config.js';
import { PROVIDER_KINDS } from './providers/index.js';

/** Default cache lifetime of a credential, capped by its own expiry. */
export const DEFAULT_CACHE_TTL_SECONDS = 50 * 60;
/** A cached credential is never handed out with less life left than this. */
export const DEFAULT_MIN_TOKEN_LIFE_SECONDS = 10 * 60;
/** The whole shutdown's bound: see daemon/shutdown.ts and the README's Signals. */
export const DEFAULT_SHUTDOWN_TIMEOUT_SECONDS = DEFAULT_SHUTDOWN_TIMEOUT_MS / 1000;
/** The longest shutdown allowed: see MAX_SHUTDOWN_TIMEOUT_MS, which `stop` also caps its wait at. */
export const MAX_SHUTDOWN_TIMEOUT_SECONDS = MAX_SHUTDOWN_TIMEOUT_MS / 1000;

export interface IntegrationConfig {
  name: string;
  provider: string;
  /** `host` or `host:port`, lowercase, as git sends it. */
  host: string;
  cacheTtlSeconds: number;
  minTokenLifeSeconds: number;
  /** Provider-specific options, already validated by the provider kind. */
  options: unknown;
}

export interface DaemonConfig {
  path: string;
  /** SHA-256 of the file's bytes as loaded (configSha256). */
  sha256: string;
  auditLog: string;
  /** Read by the helper: start a daemon when none answers. */
  autostart: boolean;
  integrations: IntegrationConfig[];
  /** Sockets beside --socket, each with its client policy. */
  listeners: ListenerConfig[];
  revokeOnShutdown: boolean;
  /** The whole shutdown ends within this (requests in flight, then revocations). */
  shutdownTimeoutSeconds: number;
  /** What loaded but is likely a mistake (a mistyped permission name): logged, and shown by reload. */
  warnings: string[];
}

const TOP_KEYS = [
  'auditLog',
  'autostart',
  'integrations',
  'listeners',
  'revokeOnShutdown',
  'shutdownTimeoutSeconds',
] as const;
const COMMON_KEYS = ['name', 'provider', 'host', 'cacheTtlSeconds', 'minTokenLifeSeconds'];

function parseHost(fields: ConfigFields): string {
  const host = fields.string('host', '"github.com"').toLowerCase();
  if (!/^[a-z0-9.-]+(:[0-9]{1,5})?$|^\[[0-9a-f:.]+\](:[0-9]{1,5})?$/.test(host)) {
    fields.fail(
      'host',
      `must be a host name with an optional :port, as in a clone URL, got "${host}"`,
    );
  }
  // Requests are matched in this form; another spelling would match nothing.
  const canonical = normalizeHost('http', normalizeHost('https', host));
  if (canonical !== host) {
    fields.fail(
      'host',
      `must be written without a trailing dot or a default port (:443, :80), as "${canonical}"; got "${host}"`,
    );
  }
  return host;
}

async function parseIntegration(
  top: ConfigFields,
  at: string,
  raw: unknown,
  env: Record<string, string | undefined> = {},
): Promise<IntegrationConfig> {
  const file = top.file;
  const fields = ConfigFields.of(file, at, raw, top);
  const provider = fields.string('provider', '"github-app"');
  const kind = PROVIDER_KINDS[provider];
  if (kind === undefined) {
    return fields.fail(
      'provider',
      `"${provider}" is not a known provider; use one of: ${Object.keys(PROVIDER_KINDS).join(', ')}`,
    );
  }
  fields.allowOnly([...COMMON_KEYS, ...kind.optionKeys]);

  const integration: IntegrationConfig = {
    name: fields.optionalString('name') ?? provider,
    provider,
    host: parseHost(fields),
    cacheTtlSeconds: fields.optionalPositiveInteger('cacheTtlSeconds') ?? DEFAULT_CACHE_TTL_SECONDS,
    minTokenLifeSeconds:
      fields.optionalPositiveInteger('minTokenLifeSeconds') ?? DEFAULT_MIN_TOKEN_LIFE_SECONDS,
    options: await kind.parseOptions(fields, file, env),
  };
  return integration;
}

/** The first two integrations with the same `key`, by index; undefined when none. */
function firstClash(
  integrations: IntegrationConfig[],
  key: (integration: IntegrationConfig) => string,
): [number, number] | undefined {
  const seen = new Map<string, number>();
  for (const [index, integration] of integrations.entries()) {
    const earlier = seen.get(key(integration));
    if (earlier !== undefined) return [earlier, index];
    seen.set(key(integration), index);
  }
  return undefined;
}

/**
 * One host, one integration (which would serve it is otherwise a guess),
 * and distinct names. Hosts are checked first: two integrations without a
 * "name" on one host share the default name too, and the host is what is
 * wrong (found in a trial: the error was about names).
 */
function checkDistinct(file: string, list: unknown[], integrations: IntegrationConfig[]): void {
  const named = (index: number): boolean => (list[index] as { name?: unknown }).name !== undefined;
  const describeAt = (index: number): string =>
    named(index)
      ? `integrations[${index}] ("${integrations[index]!.name}")`
      : `integrations[${index}]`;

  const sameHost = firstClash(integrations, ({ host }) => host);
  if (sameHost !== undefined) {
    const [a, b] = sameHost;
    throw new ConfigError(
      `config '${file}': ${describeAt(a)} and ${describeAt(b)} both serve host '${integrations[a]!.host}', and a host takes one integration; remove one, or give each its own "host"`,
    );
  }
  const sameName = firstClash(integrations, ({ name }) => name);
  if (sameName !== undefined) {
    const [a, b] = sameName;
    const { name, provider } = integrations[a]!;
    const why = sameName.every(named)
      ? ''
      : ` (without a "name", an integration is named after its provider, "${provider}")`;
    throw new ConfigError(
      `config '${file}': integrations[${a}] and integrations[${b}] are both named "${name}"${why}; give each a distinct "name"`,
    );
  }
}

/**
 * Runs one part of the parse. When it fails and the file has unknown keys,
 * the failure waits (undefined): the rest is read for more unknown keys,
 * and those are reported instead. Otherwise the failure is the error.
 */
async function unlessUnknownKeys<T>(
  top: ConfigFields,
  parse: () => Promise<T>,
): Promise<T | undefined> {
  try {
    return await parse();
  } catch (error) {
    if (top.unknownKeys.length === 0) throw error;
    return undefined;
  }
}

/**
 * Loads and validates the config file; throws ConfigError naming the bad
 * key. Its messages quote the file's keys and values, so a token pasted
 * into the wrong place is taken out of them here, once for every check
 * (found in review: a token-shaped unknown key reached daemon.log whole).
 */
export async function loadConfig(
  path: string,
  env: Record<string, string | undefined>,
): Promise<DaemonConfig> {
  try {
    return await parseConfigFile(path, env);
  } catch (error) {
    throw tokenFreeError(error);
  }
}

/** `error` with token-shaped text in its message and hint replaced. */
export function tokenFreeError(error: unknown): unknown {
  if (!(error instanceof BrokerError)) return error;
  const message = withoutTokens(error.message);
  const hint = error.hint === undefined ? undefined : withoutTokens(error.hint);
  if (message === error.message && hint === error.hint) return error;
  const options = { quit: error.quit, ...(hint === undefined ? {} : { hint }) };
  return error instanceof ConfigError
    ? new ConfigError(message, options)
    : new BrokerError(error.code, message, options);
}

async function parseConfigFile(
  path: string,
  env: Record<string, string | undefined>,
): Promise<DaemonConfig> {
  const file = resolve(path);
  const { value, sha256 } = await readJson(file);
  const top = ConfigFields.of(file, '', value);
  top.allowOnly(TOP_KEYS);

  const list = top.object.integrations;
  if (!Array.isArray(list) || list.length === 0) {
    // "integration": [...] is a typo of the key, not a missing list.
    if (top.unknownKeys.length > 0) throw unknownKeysError(file, top.unknownKeys);
    return top.fail(
      'integrations',
      'must be a non-empty array of integrations; see the README for an example',
    );
  }
  const integrations: IntegrationConfig[] = [];
  for (const [index, raw] of list.entries()) {
    const integration = await unlessUnknownKeys(top, () =>
      parseIntegration(top, `integrations[${index}]`, raw, env),
    );
    if (integration !== undefined) integrations.push(integration);
  }
  const hosts = integrations.map(({ host }) => host);
  const listeners = await unlessUnknownKeys(top, () => parseListeners(top, hosts));
  // Every unknown key of the file at once, before any other problem: a
  // mistyped key is often why a required one is "missing".
  if (top.unknownKeys.length > 0) throw unknownKeysError(file, top.unknownKeys);
  checkDistinct(file, list, integrations);

  const autostart: unknown = top.object.autostart ?? false;
  if (typeof autostart !== 'boolean') return top.fail('autostart', 'must be true or false');
  const auditLog = top.optionalString('auditLog');
  return {
    path: file,
    sha256,
    auditLog: auditLog === undefined ? defaultAuditLogPath(env) : resolveFrom(file, auditLog),
    autostart,
    integrations,
    listeners: listeners!,
    revokeOnShutdown: parseRevokeOnShutdown(top),
    shutdownTimeoutSeconds: parseShutdownTimeout(top),
    warnings: top.warnings,
  };
}

function parseShutdownTimeout(top: ConfigFields): number {
  const value = top.object.shutdownTimeoutSeconds;
  if (value === undefined) return DEFAULT_SHUTDOWN_TIMEOUT_SECONDS;
  if (
    typeof value !== 'number' ||
    !Number.isSafeInteger(value) ||
    value < 1 ||
    value > MAX_SHUTDOWN_TIMEOUT_SECONDS
  ) {
    return top.fail(
      'shutdownTimeoutSeconds',
      `must be a whole number of seconds from 1 to ${MAX_SHUTDOWN_TIMEOUT_SECONDS}, got ${describe(value)}; keep it below what your supervisor waits before SIGKILL (docker stop: 10 s, systemd: 90 s)`,
    );
  }
  return value;
}

/** Resolves a path written in the config relative to the config's directory. */
export function resolveFrom(configFile: string, path: string): string {
  return isAbsolute(path) ? path : resolve(dirname(configFile), path);
}
