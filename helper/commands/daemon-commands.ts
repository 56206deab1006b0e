/**
 * `daemon`: runs the daemon in the foreground, or starts it in the
 * background (`--detach`) and reports what it warned about. `stop` and
 * `status` are stop-command.ts and status-command.ts.
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { BadRequestError, DaemonUnreachableError } from '../../shared/errors.js';
import { printable } from '../../shared/printable.js';
import { defaultDaemonLogPath } from '../../shared/daemon-log-path.js';
import { launchDaemon } from '../daemon-launcher.js';
import { daemonLogRecords } from '../daemon-log-records.js';
import { alreadyRunning } from './running-daemon.js';
import { unappliedLogFile } from './unapplied-log-file.js';

export async function runDaemonCommand(options: {
  configPath: string;
  socketPath: string;
  detach: boolean;
  /** --log-file: where a detached daemon logs; one per socket by default. */
  logFile?: string | undefined;
  print: (text: string) => void;
}): Promise<void> {
  if (options.logFile !== undefined && (!options.detach || options.logFile.trim() === '')) {
    throw new BadRequestError(
      options.detach
        ? `--log-file was given an empty path; give the file the detached daemon should log to`
        : `--log-file is for --detach: in the foreground the daemon logs to stderr (redirect it: 2>>FILE)`,
    );
  }
  if (!options.detach) {
    const { runDaemon } = await import('../../daemon/main.js');
    await runDaemon({
      configPath: options.configPath,
      socketPath: options.socketPath,
      env: process.env,
    });
    return;
  }
  if (await alreadyRunning(options.configPath, options.socketPath, options.print)) {
    warnUnappliedLogFile(options);
    return;
  }
  const logPath = resolve(options.logFile ?? defaultDaemonLogPath(process.env, options.socketPath));
  const logStart = logSize(logPath);
  const { childPid, servingPid } = await launchDaemon({ ...options, logPath, env: process.env });
  // Many --detach at once: the lock let one daemon win, and every launcher
  // reports that one (found in a trial: each printed its own child's pid,
  // a process that had already exited). The others' daemon is judged as
  // if it had run before: the same config, or each difference.
  if (servingPid !== null && servingPid !== childPid) {
    if (await alreadyRunning(options.configPath, options.socketPath, options.print)) {
      warnUnappliedLogFile(options);
      return;
    }
    throw new DaemonUnreachableError(
      `a broker daemon (pid ${servingPid}) started on '${options.socketPath}' at the same time as this one answered, then stopped; nothing runs there now: see '${logPath}', then start it again`,
    );
  }
  options.print(
    `daemon started (pid ${servingPid ?? childPid ?? 'unknown'}) on ${options.socketPath}; its log: ${logPath}\n`,
  );
  for (const warning of startupWarnings(logPath, logStart, childPid)) {
    options.print(`warning: ${warning}\n`);
  }
}

/** A --log-file the daemon left running does not log to: say so, and how to apply it. */
function warnUnappliedLogFile(options: {
  socketPath: string;
  logFile?: string | undefined;
  print: (text: string) => void;
}): void {
  if (options.logFile === undefined) return;
  const warning = unappliedLogFile(options.socketPath, options.logFile);
  if (warning !== undefined) options.print(`warning: ${warning}\n`);
}

/** Where this start's words begin in the log; a path that cannot be a log is launchDaemon's to refuse. */
function logSize(logPath: string): number {
  try {
    return statSync(logPath, { throwIfNoEntry: false })?.size ?? 0;
  } catch {
    return 0;
  }
}

/**
 * What the new daemon warned about while starting (a key file others can
 * read, say): shown to whoever ran --detach, not only left in the log.
 */
function startupWarnings(logPath: string, from: number, pid: number | undefined): string[] {
  return daemonLogRecords(logPath, from, pid)
    .filter((record) => typeof record.level === 'number' && record.level >= 40)
    .map((record) => printable(String(record.msg), 500));
}
