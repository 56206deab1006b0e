import { realpathSync } from 'node:fs';

/**
 * Whether two paths name one file: a symbolic link to the daemon's config
 * is that config (found in review: it was called a different one).
 */
export function samePath(a: string, b: string): boolean {
  if (a === b) return true;
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}
