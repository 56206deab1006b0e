/**
 * The daemon's stderr: its own log and its reports of audit-log failures.
 * A line that cannot be written (a full disk under a `--detach` log file,
 * a file size limit, a closed pipe) is dropped and counted, never thrown:
 * the daemon keeps serving, and the audit log, not this, is what refuses
 * credentials when writing fails. The next line that can be written is
 * preceded by one saying how many were lost.
 */
import { writeSync } from 'node:fs';

const STDERR = 2;

let dropped = 0;
let droppedCode = '';
/** A failed write left part of a line: the next one starts on a line of its own. */
let torn = false;

/** Writes all of `text`, or throws; a short write (a pipe, a nearly full disk) continues. */
function writeAll(text: string): void {
  const bytes = Buffer.from(torn ? `\n${text}` : text, 'utf8');
  let written = 0;
  try {
    while (written < bytes.length) written += writeSync(STDERR, bytes, written);
    torn = false;
  } catch (error) {
    if (written > 0) torn = true;
    throw error;
  }
}

/** Writes one line (or more) to stderr; false when it was dropped. */
export function writeStderr(text: string): boolean {
  try {
    if (dropped > 0) {
      writeAll(
        `${JSON.stringify({
          level: 40,
          time: new Date().toISOString(),
          name: 'git-credential-broker',
          dropped,
          code: droppedCode,
          msg: 'log lines could not be written and were dropped',
        })}\n`,
      );
      dropped = 0;
    }
    writeAll(text);
    return true;
  } catch (error) {
    dropped++;
    droppedCode = (error as NodeJS.ErrnoException).code ?? 'unknown';
    return false;
  }
}

/** pino's destination interface, for the daemon's own log. */
export const stderrDestination = {
  write(line: string): boolean {
    writeStderr(line);
    return true;
  },
};
