/**
 * The config file's bytes and their JSON: read only from a regular file of
 * a bounded size, and a syntax error described without quoting the file.
 */
import { configSha256 } from '../shared/config-digest.js';
import { ConfigError } from '../shared/errors.js';
import {
  MAX_CONFIG_BYTES,
  NotRegularFileError,
  readProblem,
  readRegularFile,
} from '../shared/regular-file.js';

/** The file's JSON value and the SHA-256 of its bytes (configSha256). */
export async function readJson(path: string): Promise<{ value: unknown; sha256: string }> {
  let bytes: Buffer;
  try {
    bytes = await readRegularFile(path, MAX_CONFIG_BYTES);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (error instanceof NotRegularFileError && code !== 'EISDIR') {
      throw new ConfigError(
        `config file '${path}' ${readProblem(error)}, not a regular file of at most ${MAX_CONFIG_BYTES / 1024 / 1024} MiB; give the path of the JSON config file`,
      );
    }
    if (code === 'ENXIO') {
      throw new ConfigError(
        `config file '${path}' ${readProblem(error)}; give the path of the JSON config file`,
      );
    }
    if (code === 'ENOENT') {
      throw new ConfigError(
        `config file '${path}' does not exist; create it (see the README's Configuration section) or pass --config`,
      );
    }
    // Found in a new-user trial: a directory was told to be made readable.
    if (code === 'EISDIR') {
      throw new ConfigError(`config file '${path}' is a directory; give the config file's path`);
    }
    throw new ConfigError(
      `cannot read config file '${path}': ${code ?? 'unknown error'}; make it readable by this user`,
    );
  }
  const text = bytes.toString('utf8');
  try {
    return { value: JSON.parse(text) as unknown, sha256: configSha256(bytes) };
  } catch (error) {
    throw new ConfigError(
      `config file '${path}' is not valid JSON: ${jsonProblem(text, (error as Error).message)}`,
    );
  }
}

/**
 * What JSON.parse found wrong, with its line and column, in words that quote
 * nothing from the file: Node's own message quotes the text around an
 * unexpected character, which is often the value mistyped, a secret among
 * them (found in review: it reached \`status\` through the last reload).
 */
function jsonProblem(text: string, message: string): string {
  const at = (position: number): string => {
    const before = text.slice(0, position);
    return ` at line ${before.split('\n').length}, column ${before.length - before.lastIndexOf('\n')}`;
  };
  const positioned = /^([A-Za-z ',{}[\]]+?) (?:in|after) JSON at position (\d+)$/.exec(message);
  if (positioned !== null && !/[^\x20-\x7e]/.test(positioned[1]!)) {
    return `${positioned[1]!.replace(/^\w/, (c) => c.toLowerCase())}${at(Number(positioned[2]))}`;
  }
  if (/^Unexpected end of JSON input$/.test(message)) return 'it ends before the JSON is complete';
  // "Unexpected token 'h', ..."assword", hunter2-Su"... is not valid JSON":
  // V8 shows ten characters on each side of the token.
  const unexpected = /^Unexpected token .*?, (\.\.\.)?"(.*)"(?:\.\.\.)? is not valid JSON$/s.exec(
    message,
  );
  const start = unexpected === null ? -1 : text.indexOf(unexpected[2]!);
  if (start === -1) return 'an unexpected character';
  return `an unexpected character${at(start + (unexpected![1] === undefined ? 0 : 10))}`;
}
