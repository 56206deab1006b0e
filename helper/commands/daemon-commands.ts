/**
 * `daemon`, `stop` and `status`: run, stop and inspect the daemon.
 */
import { readFileSync, statSync } from 'node:fs';
import { BrokerError } from '../../shared/errors.js';
import { printable } from '../../shared/printable.js';
import { defaultDaemonLogPath } from '../../shared/paths.js';
import { PROTOCOL_VERSION, type DaemonStatus } from '../../shared/protocol.js';
import { askDaemon } from '../ask-daemon.js';
import { daemonAnswers, launchDaemon } from '../daemon-launcher.js';

export async function runDaemonCommand(options: {
  configPath: string;
  socketPath: string;
  detach: boolean;
  print: (text: string) => void;
}): Promise<void> {
  if (!options.detach) {
    const { runDaemon } = await import('../../daemon/main.js');
    await runDaemon({
      configPath: options.configPath,
      socketPath: options.socketPath,
      env: process.env,
    });
    return;
  }
  if (await daemonAnswers(options.socketPath)) {
    throw new BrokerError(
      'CONFIG',
      `a broker daemon is already running on '${options.socketPath}'; stop it first with 'git-credential-broker stop --socket ${options.socketPath}'`,
    );
  }
  const logPath = defaultDaemonLogPath(process.env);
  const logStart = statSync(logPath, { throwIfNoEntry: false })?.size ?? 0;
  const pid = await launchDaemon({ ...options, logPath, env: process.env });
  options.print(
    `daemon started (pid ${pid ?? 'unknown'}) on ${options.socketPath}; its log: ${logPath}\n`,
  );
  for (const warning of startupWarnings(logPath, logStart, pid)) {
    options.print(`warning: ${warning}\n`);
  }
}

/**
 * What the new daemon warned about while starting (a key file others can
 * read, say): shown to whoever ran --detach, not only left in the log.
 */
function startupWarnings(logPath: string, from: number, pid: number | undefined): string[] {
  let text: string;
  try {
    text = readFileSync(logPath).subarray(from).toString('utf8');
  } catch {
    return [];
  }
  const warnings: string[] = [];
  for (const line of text.split('\n')) {
    try {
      const record = JSON.parse(line) as { level?: unknown; pid?: unknown; msg?: unknown };
      if (typeof record.level === 'number' && record.level >= 40 && record.pid === pid) {
        warnings.push(printable(String(record.msg), 500));
      }
    } catch {
      // Not a log record (a crash trace, say): the log has it.
    }
  }
  return warnings;
}

export async function stopDaemon(socketPath: string, print: (text: string) => void): Promise<void> {
  await askDaemon(socketPath, { v: PROTOCOL_VERSION, op: 'stop' });
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && (await daemonAnswers(socketPath, 500))) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  print(`daemon on ${socketPath} stopped\n`);
}

function duration(ms: number): string {
  if (ms <= 0) return 'expired';
  const minutes = Math.floor(ms / 60_000);
  return minutes >= 60
    ? `${Math.floor(minutes / 60)}h${minutes % 60}m`
    : `${minutes}m${Math.floor((ms % 60_000) / 1000)}s`;
}

/** Human-readable status; never shows a secret (the daemon sends none). */
export function formatStatus(status: DaemonStatus, nowMs = Date.now()): string {
  const lines = [
    `daemon:       running, version ${status.version}, pid ${status.pid}, up ${duration(nowMs - status.startedAtMs)}`,
    `socket:       ${status.socket}`,
    `config:       ${status.config}`,
    `audit log:    ${status.auditLog}${status.auditLogFailing === true ? ' (FAILING: writes fail, so no credential is served; the daemon log says why)' : ''}`,
    `counters:     ${status.counters.hits} hits, ${status.counters.misses} misses, ${status.counters.mints} mints, ${status.counters.denied} denied, ${status.counters.errors} errors`,
    'integrations:',
    ...status.integrations.map((i) => `  ${i.name} (${i.provider}) for ${i.host}`),
    'listeners:',
    ...(status.listeners ?? []).map((l) => {
      const allow = l.allow === undefined ? 'any repository' : l.allow.join(', ');
      const ceiling =
        l.permissions === undefined
          ? "the integration's permissions"
          : Object.entries(l.permissions)
              .map(([name, level]) => `${name}:${level}`)
              .join(',');
      return `  ${l.socket}: ${allow}; at most ${ceiling}`;
    }),
    `cached:       ${status.cache.length === 0 ? 'nothing' : ''}`.trimEnd(),
    ...status.cache.map((entry) => {
      const permissions = Object.entries(entry.permissions)
        .map(([name, level]) => `${name}:${level}`)
        .join(',');
      return `  ${entry.repository} [${permissions}] via ${entry.integration}: served for ${duration(entry.staleAtMs - nowMs)}, expires in ${duration(entry.expiresAtMs - nowMs)}`;
    }),
  ];
  return `${lines.join('\n')}\n`;
}

export async function showStatus(
  socketPath: string,
  json: boolean,
  print: (text: string) => void,
): Promise<void> {
  const reply = await askDaemon(socketPath, { v: PROTOCOL_VERSION, op: 'status' });
  if (!reply.status) throw new BrokerError('INTERNAL', 'the daemon answered without a status');
  print(json ? `${JSON.stringify(reply.status, null, 2)}\n` : formatStatus(reply.status));
}
