/**
 * The digest of a config file's bytes that a daemon reports in its status
 * and `daemon --detach` compares with the file as it reads now: one
 * definition, so both sides hash the same way.
 */
import { createHash } from 'node:crypto';

/** SHA-256 of the file's bytes, hex. */
export function configSha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}
