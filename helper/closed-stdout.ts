/**
 * What the helper does when whoever reads its stdout goes away early
 * (`status --json | head -c 300`): stop quietly, as `cat` or `git log`
 * would, instead of crashing with an unhandled EPIPE stack trace.
 */

/**
 * The exit code of a process killed by SIGPIPE, as shells report it: what
 * `cat` or `git log` end with when their reader leaves. Node ignores
 * SIGPIPE, so it is given by hand. Not 0: the output was lost, and a
 * script with `set -o pipefail` should see that as it does for any other
 * writer; not 1, which status uses for "no daemon".
 */
export const CLOSED_STDOUT_EXIT_CODE = 128 + 13;

let installed = false;

/** Exits with CLOSED_STDOUT_EXIT_CODE on EPIPE on stdout; any other stdout error stays fatal. */
export function exitQuietlyWhenStdoutCloses(): void {
  if (installed) return;
  installed = true;
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(CLOSED_STDOUT_EXIT_CODE);
  });
}
