/**
 * The audit log: one JSON line per credential event (see audit-line.ts) to
 * a file only the daemon's user can read (audit-file.ts), written in
 * batches, with a credential's reply waiting for the batch that holds its
 * line.
 */
import { dirname } from 'node:path';
import { ConfigError } from '../shared/errors.js';
import { makeDirectories, removeDirectories } from '../shared/make-directories.js';
import { NotRegularFileError } from '../shared/regular-file.js';
import { AuditFile, openFix } from './audit-file.js';
import { auditLine, gapLine, type AuditEvent, type AuditRecord } from './audit-line.js';
import { writeStderr } from './stderr-log.js';

/**
 * Paths pino blanks out if a secret ever reaches an operational log call by
 * mistake. The audit log needs none: it copies only AuditRecord's fields.
 */
export const REDACT_PATHS = [
  'secret',
  'token',
  'password',
  'privateKey',
  '*.secret',
  '*.token',
  '*.password',
  '*.privateKey',
  'envelope.secret',
  'credential.secret',
];

/**
 * Lines are written in batches, one write(2) each, and a credential's reply
 * waits for the batch that holds its line: even SIGKILL loses no event that
 * was served. A batch is written once a turn of the event loop adds no line
 * to it, or when it holds BATCH_MAX_LINES or is BATCH_MAX_MS old. A lone
 * request waits one extra turn; under load, one write carries dozens of
 * lines (one write per line cost about a quarter of a cache hit).
 */
export const BATCH_MAX_LINES = 64;
export const BATCH_MAX_MS = 2;

/** Lines waiting for their write, and the promise their callers hold. */
interface Batch {
  lines: string[];
  startedMs: number;
  /** How many lines it held at the last turn: a turn that adds none ends it. */
  seen: number;
  /** True once the lines are in the file, false if they could not be written. */
  written: Promise<boolean>;
  settle: (written: boolean) => void;
}

/** How often a failing audit log tries to write again on its own. */
export const RECOVERY_PROBE_MS = 1000;

const AUDIT_PLACE_FIX = 'set "auditLog" in the config to a path on an ordinary file system';

export class AuditLog {
  readonly #file: AuditFile;
  /** Directories the open made for the file, outermost first. */
  readonly #madeDirectories: readonly string[];
  #batch: Batch | undefined;
  /** While writes fail: since when, how many lines were lost, and the retry timer. */
  #failingSinceMs: number | undefined;
  #lost = 0;
  #probe: NodeJS.Timeout | undefined;

  /**
   * Opens (creating if needed) the log file; fails now rather than on the
   * first event. `say` takes the log's own failure reports: by default the
   * daemon's stderr, which never throws (a full disk may fail it too).
   */
  static async open(
    path: string,
    say: (text: string) => void = (text) => void writeStderr(text),
  ): Promise<AuditLog> {
    let made: string[] = [];
    try {
      made = makeDirectories(dirname(path), `audit log '${path}'`, AUDIT_PLACE_FIX);
      return new AuditLog(new AuditFile(path, say), made);
    } catch (error) {
      removeDirectories(made);
      if (error instanceof ConfigError) throw error;
      const code = (error as NodeJS.ErrnoException).code;
      if (error instanceof NotRegularFileError) {
        throw new ConfigError(
          `cannot open audit log '${path}': it is ${error.what}; ${openFix(code)}`,
        );
      }
      throw new ConfigError(
        `cannot open audit log '${path}': ${code ?? (error as Error).message}; ${openFix(code)}`,
      );
    }
  }

  private constructor(file: AuditFile, madeDirectories: readonly string[]) {
    this.#file = file;
    this.#madeDirectories = madeDirectories;
  }

  /**
   * For a start that failed after opening the log: closes it, and removes
   * the directories the open made, each only while empty. The file itself
   * stays, even empty: another daemon (another socket, the same default
   * audit log) may have opened it meanwhile, and unlinking it would leave
   * that daemon writing its lines to a deleted file (found in review). No
   * check before an unlink closes that race, so nothing is unlinked.
   */
  discard(): void {
    this.flush();
    this.#file.close();
    removeDirectories(this.#madeDirectories);
  }

  /**
   * Queues one line. Resolves true once it is in the file, false when it
   * could not be written (reported on the daemon's stderr): a caller about
   * to hand out a credential must wait for true, and refuse on false.
   */
  record(event: AuditEvent, fields: AuditRecord): Promise<boolean> {
    const batch = this.#open();
    batch.lines.push(auditLine(event, fields));
    if (batch.lines.length >= BATCH_MAX_LINES) this.flush();
    return batch.written;
  }

  /** Writes fail now (a full disk, say): no credential should be handed out. */
  get failing(): boolean {
    return this.#file.failing;
  }

  /** Writes the lines waiting now. The daemon calls this before it exits. */
  flush(): void {
    const batch = this.#batch;
    if (batch === undefined) return;
    this.#batch = undefined;
    batch.settle(this.#write(batch.lines));
  }

  /**
   * Writes lines. After a failure, the first write that works is preceded
   * by an `audit.gap` line (how many lines were lost, since when, why), and
   * a timer tries that line every RECOVERY_PROBE_MS meanwhile: a disk that
   * is freed is found before the next request has to be refused for it.
   */
  #write(lines: readonly string[]): boolean {
    const since = this.#failingSinceMs;
    const gap = since === undefined ? '' : gapLine(this.#lost, since, this.#file.lastError);
    if (this.#file.append(gap + lines.join(''))) {
      this.#failingSinceMs = undefined;
      this.#lost = 0;
      clearInterval(this.#probe);
      this.#probe = undefined;
      return true;
    }
    this.#failingSinceMs ??= Date.now();
    this.#lost += lines.length;
    if (this.#probe === undefined) {
      this.#probe = setInterval(() => this.#write([]), RECOVERY_PROBE_MS);
      this.#probe.unref();
    }
    return false;
  }

  /** Opens the file again, for log rotation: the daemon does this on SIGHUP. */
  reopen(): void {
    // Lines recorded before the signal belong in the file they were meant for.
    this.flush();
    this.#file.reopen();
  }

  /** The batch taking lines now, started if there is none. */
  #open(): Batch {
    if (this.#batch !== undefined) return this.#batch;
    let settle!: (written: boolean) => void;
    const written = new Promise<boolean>((resolve) => (settle = resolve));
    const batch: Batch = { lines: [], startedMs: performance.now(), seen: 0, written, settle };
    this.#batch = batch;
    setImmediate(() => this.#afterTurn(batch));
    return batch;
  }

  /** At the end of each turn: wait one more while lines keep coming, within the bounds. */
  #afterTurn(batch: Batch): void {
    if (this.#batch !== batch) return;
    const count = batch.lines.length;
    if (count > batch.seen && performance.now() - batch.startedMs < BATCH_MAX_MS) {
      batch.seen = count;
      setImmediate(() => this.#afterTurn(batch));
      return;
    }
    this.flush();
  }
}
