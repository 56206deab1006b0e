/**
 * Loads a GitHub App private key and normalizes it to PKCS#8 PEM, the one
 * form every JWT signer accepts. Errors name the file, never its content.
 */
import { createPrivateKey } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { ConfigError } from '../../shared/errors.js';
import {
  MAX_PRIVATE_KEY_BYTES,
  NotRegularFileError,
  readProblem,
  readRegularFile,
} from '../../shared/regular-file.js';

export async function loadPrivateKey(path: string, key: string): Promise<string> {
  let pem: string;
  try {
    pem = (await readRegularFile(path, MAX_PRIVATE_KEY_BYTES)).toString('utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (error instanceof NotRegularFileError || code === 'ENXIO') {
      throw new ConfigError(
        `private key '${path}' named by ${key} ${readProblem(error)}; a key is a regular file of at most ${MAX_PRIVATE_KEY_BYTES / 1024} KiB: point ${key} at the .pem file downloaded from the App's settings page`,
      );
    }
    const fix =
      code === 'ENOENT'
        ? `check ${key}; download the key from the App's settings page`
        : 'make it readable by the user running the daemon';
    throw new ConfigError(`cannot read private key '${path}': ${code ?? 'unknown error'}; ${fix}`);
  }
  return normalizePrivateKey(pem, `private key '${path}'`);
}

/**
 * A warning when the key file is readable by group or others; the key can
 * mint tokens for every repository of every installation of the App.
 */
export async function keyFileWarning(path: string): Promise<string | undefined> {
  const mode = (await stat(path)).mode & 0o777;
  if ((mode & 0o077) === 0) return undefined;
  return `private key '${path}' is accessible to other users (mode ${mode.toString(8)}); run: chmod 600 '${path}'`;
}

/**
 * Reads a key from an environment variable, as CI systems and container
 * runtimes pass it: possibly with `\n` escapes for newlines, CRLF line ends
 * and surrounding quotes.
 */
export function loadPrivateKeyFromEnv(
  name: string,
  env: Record<string, string | undefined>,
  key: string,
): string {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') {
    throw new ConfigError(
      `environment variable '${name}' named by ${key} is not set or empty; export the App's PEM key in it`,
    );
  }
  let pem = raw.trim();
  const quoted = /^(["'])([\s\S]*)\1$/.exec(pem);
  if (quoted) pem = quoted[2]!.trim();
  pem = pem.replace(/\\r\\n|\\n/g, '\n').replace(/\r\n/g, '\n');
  return normalizePrivateKey(pem, `private key in environment variable '${name}'`);
}

export function normalizePrivateKey(pem: string, subject: string): string {
  if (pem.includes('BEGIN OPENSSH PRIVATE KEY')) {
    throw new ConfigError(
      `${subject} is an OpenSSH key; a GitHub App key is a PEM file as downloaded from the App's settings page`,
    );
  }
  if (pem.includes('ENCRYPTED')) {
    throw new ConfigError(
      `${subject} is encrypted; store it unencrypted and protect it with file permissions (openssl pkey -in KEY -out KEY.pem)`,
    );
  }
  let keyObject;
  try {
    keyObject = createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    throw new ConfigError(
      `${subject} is not a PEM private key; use the .pem file downloaded from the App's settings page`,
    );
  }
  if (keyObject.asymmetricKeyType !== 'rsa') {
    throw new ConfigError(
      `${subject} is a ${keyObject.asymmetricKeyType ?? 'non-RSA'} key; GitHub Apps sign with RSA keys`,
    );
  }
  return keyObject.export({ type: 'pkcs8', format: 'pem' }).toString();
}
