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
import type { Permissions } from '../shared/protocol.js';
import { REPOSITORY_PATTERN, type ClientPolicy } from './client-policy.js';
import { ConfigFields, describe } from './config-fields.js';
import { resolveFrom } from './config.js';

export interface ListenerConfig {
  socket: string;
  policy: ClientPolicy;
}

const LISTENER_KEYS = ['socket', 'allow', 'permissions'];
const LEVELS = ['read', 'write', 'admin'];

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

function parseCeiling(fields: ConfigFields): Permissions | undefined {
  const child = fields.child('permissions');
  if (child === undefined) return undefined;
  const permissions: Permissions = {};
  for (const [name, level] of Object.entries(child.object)) {
    if (!/^[a-z][a-z_]*$/.test(name)) child.fail(name, 'is not a GitHub App permission name');
    if (typeof level !== 'string' || !LEVELS.includes(level)) {
      child.fail(name, `must be "read", "write" or "admin", got ${describe(level)}`);
    }
    permissions[name] = level as Permissions[string];
  }
  if (Object.keys(permissions).length === 0) {
    fields.fail(
      'permissions',
      'must name at least one permission (an empty ceiling would deny everything); for example { "contents": "read" }',
    );
  }
  return permissions;
}

/** Parses `listeners`; socket paths are resolved against the config file. */
export function parseListeners(top: ConfigFields): ListenerConfig[] {
  const list = top.object.listeners;
  if (list === undefined) return [];
  if (!Array.isArray(list)) return top.fail('listeners', `must be an array, got ${describe(list)}`);

  const listeners = list.map((raw: unknown, index) => {
    const fields = ConfigFields.of(top.file, `listeners[${index}]`, raw);
    fields.allowOnly(LISTENER_KEYS);
    const socket = resolve(
      resolveFrom(top.file, fields.string('socket', '"/run/git-credential-broker/ci.sock"')),
    );
    const policy: ClientPolicy = { name: socket };
    const allow = parseAllow(fields);
    if (allow !== undefined) policy.allow = allow;
    const permissions = parseCeiling(fields);
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
