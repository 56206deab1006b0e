/**
 * Git's credential-helper protocol: `key=value` lines in, `key=value` lines
 * out. Parsing follows git's own rules: a value may contain `=`, input may
 * end at EOF without the blank line, `url=` resets the fields read before it,
 * `key[]` repeats, and unknown keys are ignored.
 */
import { BadRequestError } from '../shared/errors.js';

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

/** Percent-decodes one part of a url= value as git does, refusing what git would. */
function decodePart(part: string, name: string): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(part);
  } catch {
    throw new BadRequestError(`git sent a url whose ${name} has a malformed percent-escape`);
  }
  if (/[\n\r\0]/.test(decoded)) {
    throw new BadRequestError(
      `git sent a url whose ${name} decodes to a newline, carriage return or NUL`,
    );
  }
  return decoded;
}

function fromUrl(value: string): Partial<CredentialAttributes> {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new BadRequestError(`git sent a url that cannot be parsed ('${value.slice(0, 200)}')`);
  }
  const fields: Partial<CredentialAttributes> = { protocol: url.protocol.replace(/:$/, '') };
  if (url.host !== '') fields.host = url.host;
  const path = url.pathname.replace(/^\/+|\/+$/g, '');
  if (path !== '') fields.path = decodePart(path, 'path');
  if (url.username !== '') fields.username = decodePart(url.username, 'user name');
  if (url.password !== '') fields.password = decodePart(url.password, 'password');
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
