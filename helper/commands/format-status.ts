/**
 * What `status` prints for a person: the daemon's status, one fact a line.
 * Every string in it is the daemon's word, and whatever answers on the
 * socket can say anything: each goes through printable(), so none can
 * move the cursor, recolour the terminal or forge a line of its own.
 */
import { printable } from '../../shared/printable.js';
import type { DaemonStatus, Permissions, ReloadOutcome, StatusApi } from '../../shared/protocol.js';
import { VERSION } from '../../shared/version.js';

/** A daemon-supplied string as printed; paths and messages get more room than names. */
const text = (value: string, maxLength = 300): string => printable(value, maxLength);

type Listener = NonNullable<DaemonStatus['listeners']>[number];

/** The socket's mode, and who it lets in; nothing from a daemon that does not say. */
function describeMode(listener: Listener): string {
  const { mode, group } = listener;
  if (mode === undefined) return '';
  const bits = Number.parseInt(mode, 8);
  if (Number.isNaN(bits)) return `; mode ${text(mode, 10)}`;
  if ((bits & 0o077) === 0) return `; mode ${text(mode, 10)} (private: this user only)`;
  const who = group === undefined ? 'its group' : `group ${text(group)}`;
  return `; mode ${text(mode, 10)} (this user and ${who})`;
}

function permissionList(permissions: Permissions): string {
  return Object.entries(permissions)
    .map(([name, level]) => `${text(name, 80)}:${text(level, 20)}`)
    .join(',');
}

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
  if (!reload.ok) {
    return `FAILED ${when} (still serving the config before): ${text(reload.error ?? '', 1000)}`;
  }
  const restart = reload.needsRestart?.length
    ? `; needs a restart for: ${reload.needsRestart.map((what) => text(what, 400)).join('; ')}`
    : '';
  const warnings = (reload.warnings ?? [])
    .map((warning) => `\n  warning: ${text(warning, 1000)}`)
    .join('');
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
  const via = `; API ${text(api.origin)}, proxy ${text(api.proxy)}`;
  const variable = api.proxyVariable === undefined ? undefined : text(api.proxyVariable, 40);
  if (api.proxy !== 'none') return `${via} (from ${variable ?? 'the environment'})`;
  if (api.excludedBy !== undefined) {
    return `${via} (${text(api.excludedBy, 40)} excludes it from ${variable ?? 'the proxy'})`;
  }
  if (api.ignored !== undefined) {
    return `${via} (${text(api.ignored, 40)} is not read for http, as in curl: set http_proxy)`;
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
    `daemon:       running, version ${text(status.version, 40)}${otherVersion(status.version)}, pid ${status.pid}, up ${duration(nowMs - status.startedAtMs)}`,
    `socket:       ${text(status.socket)}`,
    `config:       ${text(status.config)}`,
    `audit log:    ${text(status.auditLog)}${status.auditLogFailing === true ? ' (FAILING: writes fail, so no credential is served; the daemon log says why)' : ''}`,
    `counters:     hits ${status.counters.hits}, misses ${status.counters.misses}, mints ${status.counters.mints}, denied ${status.counters.denied}, errors ${status.counters.errors}`,
    ...(status.lastReload === undefined
      ? []
      : [`last reload:  ${describeReload(status.lastReload, nowMs)}`]),
    'integrations:',
    ...status.integrations.map(
      (i) =>
        `  ${text(i.name, 100)} (${text(i.provider, 40)}) for ${text(i.host, 260)}${i.api === undefined ? '' : describeApi(i.api)}`,
    ),
    'listeners:',
    ...(status.listeners ?? []).map((l) => {
      const allow =
        l.allow === undefined ? 'any repository' : l.allow.map((a) => text(a, 200)).join(', ');
      const ceiling =
        l.permissions === undefined
          ? "the integration's permissions"
          : permissionList(l.permissions);
      const group = l.group === undefined ? '' : `; group ${text(l.group)} may connect`;
      const limit =
        l.maxMintsPerMinute === undefined
          ? ''
          : `; at most ${l.maxMintsPerMinute} mints a minute (refused ${l.mintsRefused ?? 0})`;
      return `  ${text(l.socket)}: ${allow}; at most ${ceiling}${group}${limit}${describeMode(l)}`;
    }),
    `cached:       ${status.cache.length === 0 ? 'nothing' : status.cache.length > CACHE_LINES_MAX ? `${status.cache.length} tokens, the ${CACHE_LINES_MAX} that stop being served first (status --json lists all)` : ''}`.trimEnd(),
    ...firstServedOut(status.cache).map((entry) => {
      const permissions = permissionList(entry.permissions);
      // Each socket has tokens of its own: say whose, or two lines look alike.
      // The daemon's own socket goes without saying.
      const on =
        entry.listener === undefined || entry.listener === status.socket
          ? ''
          : ` on ${text(entry.listener, 300)}`;
      return `  ${text(entry.repository, 200)} [${permissions}] via ${text(entry.integration, 100)}${on}: served for ${duration(entry.staleAtMs - nowMs)}, expires in ${duration(entry.expiresAtMs - nowMs)}`;
    }),
  ];
  return `${lines.join('\n')}\n`;
}
