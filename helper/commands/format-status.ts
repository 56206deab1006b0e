/**
 * What `status` prints for a person: the daemon's status, one fact a line.
 */
import type { DaemonStatus, ReloadOutcome, StatusApi } from '../../shared/protocol.js';
import { VERSION } from '../../shared/version.js';

function duration(ms: number): string {
  if (ms <= 0) return 'expired';
  const minutes = Math.floor(ms / 60_000);
  return minutes >= 60
    ? `${Math.floor(minutes / 60)}h${minutes % 60}m`
    : `${minutes}m${Math.floor((ms % 60_000) / 1000)}s`;
}

function describeReload(reload: ReloadOutcome, nowMs: number): string {
  const agoMs = nowMs - reload.atMs;
  const when = agoMs < 1000 ? 'just now' : `${duration(agoMs)} ago`;
  if (!reload.ok) return `FAILED ${when} (still serving the config before): ${reload.error ?? ''}`;
  const restart = reload.needsRestart?.length
    ? `; needs a restart for: ${reload.needsRestart.join('; ')}`
    : '';
  const warnings = (reload.warnings ?? []).map((warning) => `\n  warning: ${warning}`).join('');
  return `ok ${when}${restart}${warnings}`;
}

/** A daemon of another release that still answers status: it works, but is not this one. */
function otherVersion(version: string): string {
  return version === VERSION
    ? ''
    : ` (another release: this command is ${VERSION}; restart the daemon to run it)`;
}

/** Where an integration's API calls go: its origin, and the proxy or why none. */
function describeApi(api: StatusApi): string {
  const via = `; API ${api.origin}, proxy ${api.proxy}`;
  if (api.proxy !== 'none') return `${via} (from ${api.proxyVariable ?? 'the environment'})`;
  if (api.excludedBy !== undefined) {
    return `${via} (${api.excludedBy} excludes it from ${api.proxyVariable ?? 'the proxy'})`;
  }
  if (api.ignored !== undefined) {
    return `${via} (${api.ignored} is not read for http, as in curl: set http_proxy)`;
  }
  return via;
}

/**
 * Cached tokens listed one a line, at most: a daemon serving thousands of
 * repositories would otherwise print thousands of lines (found in review,
 * with 10,000 cached). `status --json` has every one.
 */
export const CACHE_LINES_MAX = 50;

/** The entries the text shows: all, or those whose serving ends soonest. */
function firstServedOut(cache: DaemonStatus['cache']): DaemonStatus['cache'] {
  if (cache.length <= CACHE_LINES_MAX) return cache;
  return [...cache].sort((a, b) => a.staleAtMs - b.staleAtMs).slice(0, CACHE_LINES_MAX);
}

/** Human-readable status; never shows a secret (the daemon sends none). */
export function formatStatus(status: DaemonStatus, nowMs = Date.now()): string {
  const lines = [
    `daemon:       running, version ${status.version}${otherVersion(status.version)}, pid ${status.pid}, up ${duration(nowMs - status.startedAtMs)}`,
    `socket:       ${status.socket}`,
    `config:       ${status.config}`,
    `audit log:    ${status.auditLog}${status.auditLogFailing === true ? ' (FAILING: writes fail, so no credential is served; the daemon log says why)' : ''}`,
    `counters:     hits ${status.counters.hits}, misses ${status.counters.misses}, mints ${status.counters.mints}, denied ${status.counters.denied}, errors ${status.counters.errors}`,
    ...(status.lastReload === undefined
      ? []
      : [`last reload:  ${describeReload(status.lastReload, nowMs)}`]),
    'integrations:',
    ...status.integrations.map(
      (i) =>
        `  ${i.name} (${i.provider}) for ${i.host}${i.api === undefined ? '' : describeApi(i.api)}`,
    ),
    'listeners:',
    ...(status.listeners ?? []).map((l) => {
      const allow = l.allow === undefined ? 'any repository' : l.allow.join(', ');
      const ceiling =
        l.permissions === undefined
          ? "the integration's permissions"
          : Object.entries(l.permissions)
              .map(([name, level]) => `${name}:${level}`)
              .join(',');
      const group = l.group === undefined ? '' : `; group ${l.group} may connect`;
      const limit =
        l.maxMintsPerMinute === undefined
          ? ''
          : `; at most ${l.maxMintsPerMinute} mints a minute (refused ${l.mintsRefused ?? 0})`;
      return `  ${l.socket}: ${allow}; at most ${ceiling}${group}${limit}`;
    }),
    `cached:       ${status.cache.length === 0 ? 'nothing' : status.cache.length > CACHE_LINES_MAX ? `${status.cache.length} tokens, the ${CACHE_LINES_MAX} that stop being served first (status --json lists all)` : ''}`.trimEnd(),
    ...firstServedOut(status.cache).map((entry) => {
      const permissions = Object.entries(entry.permissions)
        .map(([name, level]) => `${name}:${level}`)
        .join(',');
      return `  ${entry.repository} [${permissions}] via ${entry.integration}: served for ${duration(entry.staleAtMs - nowMs)}, expires in ${duration(entry.expiresAtMs - nowMs)}`;
    }),
  ];
  return `${lines.join('\n')}\n`;
}
