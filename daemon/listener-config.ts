/**
 * The config's `listeners`: extra sockets, each with the policy its clients
 * get. See client-policy.ts for what a policy means.
 *
 *   "listeners": [
 *     { "socket": "/run/broker/ci/daemon.sock", "allow": ["github.com/acme/*"],
 *       "permissions": { "contents": "read" }, "group": "ci",
 *       "maxMintsPerMinute": 30 }
 *   ]
 */
import { resolve } from 'node:path';
import { normalizeHost } from '../shared/hosts.js';
import { HOST_REPOSITORY_PATTERN, REPOSITORY_PATTERN, type ClientPolicy } from './client-policy.js';
import { ConfigFields, describe } from './config-fields.js';
import { resolveFrom } from './config.js';
import { parseGroupAccess, type GroupAccess } from './socket-access.js';

export interface ListenerConfig {
  socket: string;
  policy: ClientPolicy;
  /** Set when the socket is open to a group (0660); absent: this user only (0600). */
  access?: GroupAccess;
}

const LISTENER_KEYS = ['socket', 'allow', 'permissions', 'group', 'mode', 'maxMintsPerMinute'];

/**
 * Why a well-formed entry's repository name can never match: the name a
 * request is judged by has lost its `.git` (as git-lfs's and every clone
 * URL's path does), and `.` or `..` name no repository.
 */
function unmatchableName(pattern: string): string | undefined {
  const name = pattern.slice(pattern.lastIndexOf('/') + 1);
  if (name === '.' || name === '..') {
    return `never matches: '${name}' is not a repository name; write "owner/repository" or "owner/*"`;
  }
  if (name.endsWith('.git')) {
    const fixed = pattern.slice(0, -'.git'.length);
    return `never matches: requests are judged by the repository without its ".git" (as in the clone URL's path), so write "${fixed}"`;
  }
  return undefined;
}

/** Why an allow entry is malformed, or undefined when it is well formed. */
function allowEntryProblem(pattern: string): string | undefined {
  if (REPOSITORY_PATTERN.test(pattern)) return unmatchableName(pattern);
  if (!HOST_REPOSITORY_PATTERN.test(pattern)) {
    return 'must be "owner/repository", "owner/*", "host/owner/repository" or "host/owner/*"';
  }
  const host = pattern.slice(0, pattern.indexOf('/'));
  const canonical = normalizeHost('http', normalizeHost('https', host));
  if (canonical !== host) {
    return `must name its host as the integration's "host" does, without a trailing dot or a default port (${canonical})`;
  }
  return unmatchableName(pattern);
}

/**
 * Reads `allow`. A pattern's host matches as git's does, whatever its case;
 * one no integration serves is allowed (a reload may add it) but warned of,
 * since it matches nothing until then.
 */
function parseAllow(fields: ConfigFields, hosts: readonly string[]): string[] | undefined {
  const value = fields.object.allow;
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length === 0) {
    return fields.fail(
      'allow',
      `must be a non-empty array such as ["acme/*"], got ${describe(value)}`,
    );
  }
  return value.map((entry: unknown, index) => {
    const pattern = typeof entry === 'string' ? entry.toLowerCase() : '';
    const problem = pattern === '' ? 'must be "owner/repository"' : allowEntryProblem(pattern);
    if (problem !== undefined) fields.fail(`allow[${index}]`, `${problem}, got ${describe(entry)}`);
    const parts = pattern.split('/');
    if (parts.length === 3 && !hosts.includes(parts[0]!)) {
      fields.warn(
        `allow[${index}]`,
        `names host '${parts[0]!}', which no integration serves (${hosts.join(', ')}), so it allows nothing; check the host, or add an integration for it`,
      );
    }
    return pattern;
  });
}

function parseMaxMints(fields: ConfigFields): number | undefined {
  const value = fields.object.maxMintsPerMinute;
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    // 0 would refuse every mint: a socket that serves only what others cached.
    fields.fail(
      'maxMintsPerMinute',
      `must be a positive whole number (requests a minute that may mint), got ${describe(value)}; leave it out for no limit`,
    );
  }
  return value;
}

/**
 * Parses `listeners`; socket paths are resolved against the config file.
 * `hosts`: the integrations' hosts, which `allow` patterns may name.
 */
export async function parseListeners(
  top: ConfigFields,
  hosts: readonly string[],
): Promise<ListenerConfig[]> {
  const list = top.object.listeners;
  if (list === undefined) return [];
  if (!Array.isArray(list)) return top.fail('listeners', `must be an array, got ${describe(list)}`);

  const listeners: ListenerConfig[] = [];
  for (const [index, raw] of list.entries()) {
    const fields = ConfigFields.of(top.file, `listeners[${index}]`, raw, top);
    fields.allowOnly(LISTENER_KEYS);
    const socket = resolve(
      resolveFrom(top.file, fields.string('socket', '"/run/git-credential-broker/ci.sock"')),
    );
    const policy: ClientPolicy = { name: socket };
    const allow = parseAllow(fields, hosts);
    if (allow !== undefined) policy.allow = allow;
    const permissions = fields.optionalPermissions('permissions');
    if (permissions !== undefined) policy.permissions = permissions;
    const maxMints = parseMaxMints(fields);
    if (maxMints !== undefined) policy.maxMintsPerMinute = maxMints;
    const access = await parseGroupAccess(fields);
    if (access === undefined) {
      listeners.push({ socket, policy });
      continue;
    }
    policy.group = access.group.name;
    listeners.push({ socket, policy, access });
  }

  const seen = new Set<string>();
  for (const { socket } of listeners) {
    if (seen.has(socket)) top.fail('listeners', `name socket '${socket}' twice; list each once`);
    seen.add(socket);
  }
  return listeners;
}

/** `revokeOnShutdown`: revoke every live token this daemon minted when it stops. */
export function parseRevokeOnShutdown(top: ConfigFields): boolean {
  const value = top.object.revokeOnShutdown;
  if (value === undefined) return false;
  if (typeof value !== 'boolean') {
    return top.fail('revokeOnShutdown', `must be true or false, got ${describe(value)}`);
  }
  return value;
}
