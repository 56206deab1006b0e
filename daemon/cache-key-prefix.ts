import { createHash } from 'node:crypto';
import type { Integration } from './provider-registry.js';

/**
 * The part of every cache key the core adds in front of the provider's:
 * the integration's name and settings (lifetimes, provider options). No two
 * integrations share an entry (two hosts on one App used to: one's TTL and erase then acted on the
 * other's token), and a reload that renames an integration or changes how
 * long it serves a token starts afresh instead of serving what was cached
 * under the old settings.
 */
const keyPrefixes = new WeakMap<Integration['config'], string>();

export function keyPrefixOf(config: Integration['config']): string {
  let prefix = keyPrefixes.get(config);
  if (prefix === undefined) {
    // The whole integration, its provider's options included (a changed
    // command or App key mints afresh), as a short hash: keys stay short.
    const settings = createHash('sha256').update(JSON.stringify(config)).digest('base64url');
    prefix = `${JSON.stringify(config.name)}|${settings.slice(0, 16)}|`;
    keyPrefixes.set(config, prefix);
  }
  return prefix;
}
