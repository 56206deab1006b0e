/**
 * Small readers for validating a parsed JSON config. Each names the key it
 * read (`integrations[0].appId`), the bad value, and what would be right, so a
 * config error says exactly what to fix.
 */
import { closestWord } from '../shared/closest-word.js';
import { ConfigError } from '../shared/errors.js';
import type { PermissionLevel, Permissions } from '../shared/protocol.js';
import { withoutTokens } from '../shared/printable.js';
import { closestPermission, isKnownPermission } from './permission-names.js';

const PERMISSION_LEVELS: readonly string[] = ['read', 'write', 'admin'];

export type JsonObject = Record<string, unknown>;

export class ConfigFields {
  constructor(
    readonly file: string,
    readonly at: string,
    readonly object: JsonObject,
    /** What is allowed but likely wrong; shared by every object of one file. */
    readonly warnings: string[] = [],
    /** Keys no object defines, found so far; shared by every object of one file. */
    readonly unknownKeys: UnknownKey[] = [],
  ) {}

  /** Reads a nested object and returns fields for it, sharing `parent`'s findings. */
  static of(file: string, at: string, value: unknown, parent?: ConfigFields): ConfigFields {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new ConfigError(
        `config '${file}': ${at || 'the file'} must be a JSON object, got ${describe(value)}`,
      );
    }
    return new ConfigFields(file, at, value as JsonObject, parent?.warnings, parent?.unknownKeys);
  }

  key(name: string): string {
    return this.at === '' ? name : `${this.at}.${name}`;
  }

  fail(name: string, problem: string): never {
    throw new ConfigError(`config '${this.file}': ${this.key(name)} ${problem}`);
  }

  /** Notes a value that is allowed but likely a mistake; loading goes on. */
  warn(name: string, problem: string): void {
    // A key may be anything a file holds, a token pasted in the wrong place too.
    this.warnings.push(withoutTokens(`config '${this.file}': ${this.key(name)} ${problem}`));
  }

  /**
   * Notes the keys this object does not define, catching typos; the file
   * is refused once read, with every such key at once (unknownKeysError).
   */
  allowOnly(names: readonly string[]): void {
    for (const name of Object.keys(this.object)) {
      if (!names.includes(name)) {
        this.unknownKeys.push({
          at: this.at,
          key: this.key(name),
          meant: closestWord(name, names),
          allowed: names,
        });
      }
    }
  }

  optionalString(name: string): string | undefined {
    const value = this.object[name];
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || value.trim() === '') {
      this.fail(name, `must be a non-empty string, got ${describe(value)}`);
    }
    return value;
  }

  string(name: string, example: string): string {
    const value = this.optionalString(name);
    if (value === undefined) this.fail(name, `is required; for example "${name}": ${example}`);
    return value;
  }

  optionalPositiveInteger(name: string): number | undefined {
    const value = this.object[name];
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
      this.fail(name, `must be a positive whole number, got ${describe(value)}`);
    }
    return value;
  }

  /**
   * Reads a non-empty `{ name: "read" | "write" | "admin" }` object, or
   * undefined when absent. Names are GitHub's lowercase words, which also
   * keeps `__proto__` out of the object.
   */
  optionalPermissions(name: string): Permissions | undefined {
    const child = this.child(name);
    if (child === undefined) return undefined;
    const permissions: Permissions = {};
    for (const [permission, level] of Object.entries(child.object)) {
      if (!/^[a-z][a-z_]*$/.test(permission)) {
        child.fail(permission, 'is not a GitHub App permission name');
      }
      if (typeof level !== 'string' || !PERMISSION_LEVELS.includes(level)) {
        child.fail(permission, `must be "read", "write" or "admin", got ${describe(level)}`);
      }
      permissions[permission] = level as PermissionLevel;
      if (!isKnownPermission(permission))
        child.warn(permission, unknownPermissionProblem(permission));
    }
    if (Object.keys(permissions).length === 0) {
      this.fail(name, 'must name at least one permission, for example { "contents": "read" }');
    }
    return permissions;
  }

  child(name: string): ConfigFields | undefined {
    const value = this.object[name];
    return value === undefined
      ? undefined
      : ConfigFields.of(this.file, this.key(name), value, this);
  }
}

/** A key no object of the config defines, where it is and what was likely meant. */
export interface UnknownKey {
  /** The object's location: '' for the top level, `integrations[0]`. */
  at: string;
  /** The key's location: `integrations[0].permisions`. */
  key: string;
  meant: string | undefined;
  allowed: readonly string[];
}

/**
 * Every unknown key of a file in one error (found in review: only the
 * first was named, so each typo cost a round trip), each with a "did you
 * mean" when one key is close, and what each object allows.
 */
export function unknownKeysError(file: string, keys: readonly UnknownKey[]): ConfigError {
  const named = ({ key, meant }: UnknownKey): string =>
    meant === undefined ? key : `${key} (did you mean "${meant}"?)`;
  if (keys.length === 1) {
    const { key, meant, allowed } = keys[0]!;
    const guess = meant === undefined ? '' : ` did you mean "${meant}"?`;
    return new ConfigError(
      `config '${file}': ${key} is not a known key;${guess} allowed here: ${allowed.join(', ')}`,
    );
  }
  const allowed = new Map(keys.map(({ at, allowed }) => [at, allowed]));
  const where = [...allowed].map(
    ([at, names]) => `allowed in ${at === '' ? 'the top level' : at}: ${names.join(', ')}`,
  );
  return new ConfigError(
    `config '${file}': ${keys.length} keys are not known: ${keys.map(named).join(', ')}; ${where.join('; ')}`,
  );
}

/**
 * A permission name GitHub does not document: a warning, not an error, as
 * GitHub adds names over time; but a typo fails every mint with a 422 that
 * names nothing.
 */
function unknownPermissionProblem(name: string): string {
  const meant = closestPermission(name);
  const guess = meant === undefined ? ';' : `; did you mean "${meant}"?`;
  return `is not a permission GitHub documents for App tokens${guess} GitHub refuses to mint a token with a name it does not know (HTTP 422); a name it added after this release is fine`;
}

/** A short, secret-free description of a config value for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') {
    return value.length > 60 ? `a string of ${value.length} characters` : JSON.stringify(value);
  }
  return String(value);
}
