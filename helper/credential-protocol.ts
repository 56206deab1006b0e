/**
 * Git's credential-helper protocol: `key=value` lines in, `key=value` lines
 * out. Parsing follows git's own rules: a value may contain `=`, input may
 * end at EOF without the blank line, `url=` resets the fields read before it,
 * `key[]` repeats, and unknown keys are ignored.
 */
import { BadRequestError } from '../shared/errors.js';
import { trimSlashes } from '../shared/paths-text.js';

/** Git refuses lines longer than this; so does the helper. */
export const MAX_LINE_BYTES = 65535;

export interface CredentialAttributes {
  protocol?: string;
  host?: string;
  path?: string;
  username?: string;
  password?: string;
  /** Every `key[]` git sent, by key without the brackets. */
  multi: Record<string, string[]>;
}

const URL_FIELDS = ['protocol', 'host', 'path', 'username', 'password'] as const;

/** Decodes %XX escapes as git's url_decode does: malformed ones stay as they are. */
export function percentDecode(text: string): string {
  if (!text.includes('%')) return text;
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const hex = text.slice(i + 1, i + 3);
    if (text[i] === '%' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(Number.parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(text[i]!, 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/**
 * Splits a URL the way git's credential_from_url does, without a WHATWG
 * parser: that one resolves `..` and rewrites hosts, so the broker would
 * scope a token to a different path than git sent.
 */
function fromUrl(value: string): Partial<CredentialAttributes> {
  const schemeEnd = value.indexOf('://');
  if (schemeEnd <= 0) {
    // The url may carry a password: never quote it.
    throw new BadRequestError('git sent a url without a scheme (expected scheme://host/path)');
  }
  const fields: Partial<CredentialAttributes> = { protocol: value.slice(0, schemeEnd) };
  const rest = value.slice(schemeEnd + 3);
  const slash = rest.indexOf('/');
  const authority = slash === -1 ? rest : rest.slice(0, slash);
  const at = authority.lastIndexOf('@');
  if (at !== -1) {
    const userinfo = authority.slice(0, at);
    const colon = userinfo.indexOf(':');
    fields.username = percentDecode(colon === -1 ? userinfo : userinfo.slice(0, colon));
    if (colon !== -1) fields.password = percentDecode(userinfo.slice(colon + 1));
  }
  const host = percentDecode(authority.slice(at + 1));
  if (host !== '') fields.host = host;
  const path = slash === -1 ? '' : trimSlashes(percentDecode(rest.slice(slash + 1)));
  if (path !== '') fields.path = path;
  // A value git would refuse must not slip in through an escape.
  for (const [name, part] of Object.entries(fields)) {
    if (typeof part === 'string' && /[\n\r\0]/.test(part)) {
      throw new BadRequestError(
        `git sent a url whose ${name} decodes to a newline, carriage return or NUL`,
      );
    }
  }
  return fields;
}

/** Parses what git writes to a helper's stdin. */
export function parseCredentialInput(input: string): CredentialAttributes {
  const attributes: CredentialAttributes = { multi: {} };

  for (const [index, line] of input.split('\n').entries()) {
    if (line === '') break;
    if (Buffer.byteLength(line) > MAX_LINE_BYTES) {
      throw new BadRequestError(
        `line ${index + 1} from git is longer than ${MAX_LINE_BYTES} bytes`,
      );
    }
    const equals = line.indexOf('=');
    if (equals === -1) {
      throw new BadRequestError(`line ${index + 1} from git has no '=' (expected key=value)`);
    }
    const key = line.slice(0, equals);
    const value = line.slice(equals + 1);
    if (/[\r\0]/.test(value)) {
      throw new BadRequestError(
        `the value of '${key.slice(0, 64)}' from git contains a carriage return or NUL`,
      );
    }

    if (key.endsWith('[]')) {
      const name = key.slice(0, -2);
      // Git clears a multi-valued key when it sends it with an empty value.
      attributes.multi[name] = value === '' ? [] : [...(attributes.multi[name] ?? []), value];
    } else if (key === 'url') {
      for (const field of URL_FIELDS) delete attributes[field];
      Object.assign(attributes, fromUrl(value));
    } else if ((URL_FIELDS as readonly string[]).includes(key)) {
      attributes[key as (typeof URL_FIELDS)[number]] = value;
    }
  }
  return attributes;
}

/** Formats a helper's answer; refuses values git could misread. */
export function formatCredentialOutput(fields: Record<string, string | number>): string {
  let output = '';
  for (const [key, raw] of Object.entries(fields)) {
    const value = String(raw);
    if (/[\n\r\0]/.test(value)) {
      throw new BadRequestError(
        `cannot hand git a value for '${key}' that contains a newline, carriage return or NUL`,
      );
    }
    output += `${key}=${value}\n`;
  }
  return output;
}
