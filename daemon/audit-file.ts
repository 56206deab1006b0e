/**
 * The audit log's file: opened for appending, readable by the daemon's user
 * only; whole lines written or none; failures reported on stderr at most
 * once a minute; opened anew for log rotation.
 */
import {
  constants,
  closeSync,
  fchmodSync,
  fstatSync,
  ftruncateSync,
  openSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { makeDirectories } from '../shared/make-directories.js';
import { fileKind, NotRegularFileError } from '../shared/regular-file.js';

const APPEND_FLAGS =
  constants.O_WRONLY |
  constants.O_APPEND |
  constants.O_CREAT |
  constants.O_NONBLOCK |
  constants.O_NOCTTY;

/** How often a failing audit log is reported on stderr, at most. */
const REPORT_EVERY_MS = 60_000;

/**
 * Opens the audit file for appending, readable by the daemon's user only,
 * whoever created it (logrotate's `create 0644`, say).
 */
function openAuditFile(path: string): number {
  // O_NONBLOCK: opening a FIFO to write blocks until a reader comes, and
  // this runs on the main thread (found in review: a FIFO as auditLog).
  // With it, a FIFO without a reader fails (ENXIO), and one with a reader
  // is refused below: its reader could stall every credential. A character
  // device stays allowed (/dev/null to keep no audit log).
  const fd = openSync(path, APPEND_FLAGS, 0o600);
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile() && !stats.isCharacterDevice()) {
      throw new NotRegularFileError('ENOTREG', fileKind(stats));
    }
    if ((stats.mode & 0o077) !== 0) fchmodSync(fd, 0o600);
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  return fd;
}

export class AuditFile {
  #fd: number;
  readonly #path: string;
  /** Writes fail now: set by a failure, cleared by the next success. */
  #failing = false;
  /** A failed write may have left part of a line that could not be cut off. */
  #torn = false;
  /** Failures not yet reported on stderr, and when the last report was. */
  #unreported = 0;
  #reportedAtMs = Number.NEGATIVE_INFINITY;
  /** The error code of the last failed write. */
  lastError = '';
  readonly #say: (text: string) => void;

  constructor(path: string, say: (text: string) => void) {
    this.#path = path;
    this.#say = say;
    this.#fd = openAuditFile(path);
  }

  get failing(): boolean {
    return this.#failing;
  }

  get path(): string {
    return this.#path;
  }

  /** Closes the file; only for a log that is not used again (a failed start). */
  close(): void {
    try {
      closeSync(this.#fd);
    } catch {
      // Closed already.
    }
  }

  /** Appends whole lines; false (and nothing left behind) when they could not be written. */
  append(lines: string): boolean {
    const text = this.#torn ? `\n${lines}` : lines;
    let written = 0;
    try {
      written = writeSync(this.#fd, text);
      // A regular file takes the whole line at once; anything else may not.
      const size = Buffer.byteLength(text);
      if (written < size) {
        const bytes = Buffer.from(text, 'utf8');
        while (written < size) written += writeSync(this.#fd, bytes, written);
      }
      this.#failing = false;
      this.#torn = false;
      return true;
    } catch (error) {
      this.#failing = true;
      this.lastError = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      if (written > 0) this.#cutOff(written);
      this.#report(error as NodeJS.ErrnoException);
      return false;
    }
  }

  /**
   * Removes the part of a line a failed write left at the end of the file,
   * so the lines after it stay whole; failing that, the next line starts on
   * a line of its own.
   */
  #cutOff(written: number): void {
    try {
      ftruncateSync(this.#fd, fstatSync(this.#fd).size - written);
    } catch {
      this.#torn = true;
    }
  }

  /**
   * A write error (disk full, file system gone) must not stop the daemon:
   * the caller learns of it and refuses to serve. Reported at most once a
   * minute: a flood of reports would fill a disk of its own.
   */
  #report(error: NodeJS.ErrnoException): void {
    this.#unreported++;
    const nowMs = Date.now();
    if (nowMs - this.#reportedAtMs < REPORT_EVERY_MS) return;
    const more =
      this.#unreported > 1 ? ` (${this.#unreported - 1} more since the last report)` : '';
    this.#say(
      `git-credential-broker: audit log '${this.#path}' write failed: ${error.code ?? error.message}${more}; no credential is served until it can be written\n`,
    );
    this.#reportedAtMs = nowMs;
    this.#unreported = 0;
  }

  /**
   * Opens the path again (after logrotate moved the file, or someone removed
   * it); the old file stays in use if the path cannot be opened.
   */
  reopen(): void {
    let fd: number;
    try {
      makeDirectories(
        dirname(this.#path),
        `audit log '${this.#path}'`,
        'set "auditLog" in the config to a path on an ordinary file system',
      );
      fd = openAuditFile(this.#path);
    } catch (error) {
      // Not a write failure: lines still go to the file opened before.
      this.#say(
        `git-credential-broker: cannot reopen audit log '${this.#path}': ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}; still writing to the file opened before\n`,
      );
      return;
    }
    const old = this.#fd;
    this.#fd = fd;
    closeSync(old);
  }
}

/** What to do about an audit log path that cannot be opened, by the error's code. */
export function openFix(code: string | undefined): string {
  switch (code) {
    case 'EISDIR':
      return 'that is a directory; set "auditLog" in the config to a file path';
    case 'ENOTREG':
    case 'ENXIO':
      return 'an audit log must be a regular file; set "auditLog" in the config to a file path';
    case 'ENOTDIR':
    case 'EEXIST':
      return 'part of that path is a file, not a directory; set "auditLog" in the config to a path in a directory';
    default:
      return 'make its directory writable by the daemon\'s user or set "auditLog" in the config';
  }
}
