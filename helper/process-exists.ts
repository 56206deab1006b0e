/**
 * Whether a process still runs, for `stop` and the tests that wait for a
 * daemon (or what it started) to exit.
 */
import { existsSync, readFileSync } from 'node:fs';

/**
 * Whether the process still runs. A zombie (exited, not yet reaped by its
 * parent or init) does not: a container whose init never reaps would have
 * had `stop` wait its 30 s and call a stopped daemon still running (found
 * while speeding up the tests; this VM's init reaps every ~1.5 s).
 */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  // Elsewhere (macOS, BSD) there is no /proc: signal 0 is all there is.
  if (process.platform !== 'linux') return true;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The state follows the command name, which may hold spaces and ')'.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch (error) {
    // Gone since the signal, unless /proc is not mounted at all (found in
    // review: a missing /proc read as "gone" for every process).
    return (error as NodeJS.ErrnoException).code !== 'ENOENT' || !existsSync('/proc/self');
  }
}
