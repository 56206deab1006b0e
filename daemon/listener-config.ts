/**
 * The config's `listeners`: extra sockets, each with the policy its clients
 * get. See client-policy.ts for what a policy means.
 *
 *   "listeners": [
 *     { "socket": "/run/broker/ci.sock", "allow": ["acme/*"],
 *       "permissions": { "contents": "read" } }
 *   ]
 */
import { resolve } from 'node:path';
import { REPOSITORY_PATTERN, type ClientPolicy } from './client-policy.js';
import { ConfigFields, describe } from './config-fields.js';
import { resolveFrom } from './config.js';

export interface ListenerConfig {
  socket: string;
  policy: ClientPolicy;
}

const LISTENER_KEYS = ['socket', 'allow', 'permissions'];

function parseAllow(fields: ConfigFields): string[] | undefined {
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
    if (!REPOSITORY_PATTERN.test(pattern)) {
      fields.fail(
        `allow[${index}]`,
        `must be "owner/repository" or "owner/*", got ${describe(entry)}`,
      );
    }
    return pattern;
  });
}

/** Parses `listeners`; socket paths are resolved against the config file. */
export function parseListeners(top: ConfigFields): ListenerConfig[] {
  const list = top.object.listeners;
  if (list === undefined) return [];
  if (!Array.isArray(list)) return top.fail('listeners', `must be an array, got ${describe(list)}`);

  const listeners = list.map((raw: unknown, index) => {
    const fields = ConfigFields.of(top.file, `listeners[${index}]`, raw, top);
    fields.allowOnly(LISTENER_KEYS);
    const socket = resolve(
      resolveFrom(top.file, fields.string('socket', '"/run/git-credential-broker/ci.sock"')),
    );
    const policy: ClientPolicy = { name: socket };
    const allow = parseAllow(fields);
    if (allow !== undefined) policy.allow = allow;
    const permissions = fields.optionalPermissions('permissions');
    if (permissions !== undefined) policy.permissions = permissions;
    return { socket, policy };
  });

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
