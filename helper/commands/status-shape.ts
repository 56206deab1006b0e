/**
 * Whether a daemon's status has the shape `status` prints: a daemon of
 * another release answers the same op with another shape (found in review:
 * `{}` made the text output crash on `counters.hits`). Checked field by
 * field before anything is formatted, so that what is wrong can be named.
 */
import type { DaemonStatus } from '../../shared/protocol.js';
import { isNotFarAhead } from '../../shared/reply-shape.js';

type Check = (value: unknown) => boolean;

const string: Check = (value) => typeof value === 'string';
const number: Check = (value) => typeof value === 'number' && Number.isFinite(value);
/** A time a daemon of this release could send: found in review, 1e300 printed as hours. */
const time: Check = (value) => isNotFarAhead(value);
const boolean: Check = (value) => typeof value === 'boolean';
const optional =
  (check: Check): Check =>
  (value) =>
    value === undefined || check(value);
const arrayOf =
  (check: Check): Check =>
  (value) =>
    Array.isArray(value) && value.every(check);

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An object with these fields (others are let through: a later field is no problem). */
const shaped =
  (fields: Record<string, Check>): Check =>
  (value) =>
    isRecord(value) && Object.entries(fields).every(([name, check]) => check(value[name]));

/** Permission name to level. */
const permissions: Check = (value) => isRecord(value) && Object.values(value).every(string);

/** A ReloadOutcome, as `reload` and `daemon --detach` read it. */
const reloadOutcome = shaped({
  count: number,
  requestedAtMs: number,
  atMs: number,
  ok: boolean,
  error: optional(string),
  needsRestart: optional(arrayOf(string)),
  warnings: optional(arrayOf(string)),
});

/** What formatStatus, reload and --detach read, field by field. */
const STATUS_FIELDS: Record<string, Check> = {
  version: string,
  pid: number,
  startedAtMs: number,
  socket: string,
  config: string,
  configSha256: optional(string),
  auditLog: string,
  auditLogFailing: optional(boolean),
  counters: shaped({ hits: number, misses: number, mints: number, denied: number, errors: number }),
  lastReload: optional(
    shaped({
      atMs: number,
      ok: boolean,
      error: optional(string),
      needsRestart: optional(arrayOf(string)),
      warnings: optional(arrayOf(string)),
    }),
  ),
  // Found in review: read unchecked, a string here made a TypeError and
  // `warnings: "ABC"` one line per character.
  recentReloads: optional(arrayOf(reloadOutcome)),
  integrations: arrayOf(
    shaped({
      name: string,
      provider: string,
      host: string,
      api: optional(
        shaped({
          origin: string,
          proxy: string,
          proxyVariable: optional(string),
          excludedBy: optional(string),
          ignored: optional(string),
        }),
      ),
    }),
  ),
  listeners: optional(
    arrayOf(
      shaped({
        socket: string,
        allow: optional(arrayOf(string)),
        permissions: optional(permissions),
        group: optional(string),
        maxMintsPerMinute: optional(number),
        mintsRefused: optional(number),
        mode: optional(string),
      }),
    ),
  ),
  cache: arrayOf(
    shaped({
      integration: string,
      repository: string,
      permissions,
      expiresAtMs: time,
      staleAtMs: time,
      listener: optional(string),
    }),
  ),
};

/**
 * The fields of `status` that are not what `status` prints, by name
 * (`counters, integrations`); undefined when it is a DaemonStatus.
 */
export function statusShapeProblem(status: unknown): string | undefined {
  if (!isRecord(status)) return 'not an object';
  const wrong = Object.entries(STATUS_FIELDS).flatMap(([name, check]) =>
    check(status[name]) ? [] : [name],
  );
  return wrong.length === 0 ? undefined : `${wrong.join(', ')} not as this release reads them`;
}

/** Narrows a status to DaemonStatus when its shape is right. */
export function isDaemonStatus(status: unknown): status is DaemonStatus {
  return statusShapeProblem(status) === undefined;
}
