/** Booleans in git config, read as git reads them. */

/**
 * A config value as git reads a boolean; undefined for what git refuses
 * outright: an entry without a value (the credential code stops at it,
 * "missing value") or a word that is not a boolean.
 */
export function gitBoolean(value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  if (/^(true|yes|on)$/i.test(value)) return true;
  if (/^(false|no|off|)$/i.test(value)) return false;
  // Integers count too, with git's unit suffixes: `1k` is true.
  if (/^[+-]?[0-9]+[kmg]?$/i.test(value)) return !/^[+-]?0+[kmg]?$/i.test(value);
  return undefined;
}
