/**
 * Loads a GitHub App private key and normalizes it to PKCS#8 PEM, the one
 * form every JWT signer accepts. Errors name the file, never its content.
 */
import { createPrivateKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { ConfigError } from '../../shared/errors.js';

export async function loadPrivateKey(path: string, key: string): Promise<string> {
  let pem: string;
  try {
    pem = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const fix =
      code === 'ENOENT'
        ? `check ${key}; download the key from the App's settings page`
        : 'make it readable by the user running the daemon';
    throw new ConfigError(`cannot read private key '${path}': ${code ?? 'unknown error'}; ${fix}`);
  }
  return normalizePrivateKey(pem, `private key '${path}'`);
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
