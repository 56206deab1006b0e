/**
 * Linear-time helpers for repository paths. Paths come from clients, so no
 * regular expression here may backtrack: a crafted path must cost no more
 * than its length.
 */

/** Git paths are short; anything longer is refused before it is looked at. */
export const MAX_PATH_LENGTH = 1024;

/** Removes leading and trailing slashes. */
export function trimSlashes(path: string): string {
  let start = 0;
  let end = path.length;
  while (start < end && path.charCodeAt(start) === 0x2f) start++;
  while (end > start && path.charCodeAt(end - 1) === 0x2f) end--;
  return path.slice(start, end);
}

/** Drops a git-lfs suffix (`/info/lfs...`) and then a `.git` suffix. */
export function stripGitSuffixes(path: string): string {
  let result = path;
  const lfs = result.toLowerCase().indexOf('/info/lfs');
  if (lfs !== -1) {
    const rest = result.slice(lfs + '/info/lfs'.length);
    if (rest === '' || rest.startsWith('/')) result = result.slice(0, lfs);
  }
  if (result.toLowerCase().endsWith('.git')) result = result.slice(0, -4);
  return result;
}
