/**
 * `git-credential-broker daemon [--config PATH] [--socket PATH]` without
 * yargs: a long-lived daemon should not keep a command-line parser's
 * modules in memory (about 12 MB of RSS for yargs). Any other form, --help
 * included, still goes through cli.ts.
 */
import { resolve } from 'node:path';
import { BrokerError } from '../shared/errors.js';
import { resolveConfigPath, resolveSocketPath } from '../shared/paths.js';
import { printable } from '../shared/printable.js';
import { exitCodeOf, PROGRAM } from './git-actions.js';

export interface DaemonInvocation {
  config?: string;
  socket?: string;
}

/** The daemon command's options, or undefined when argv is anything else. */
export function parseDaemonInvocation(argv: readonly string[]): DaemonInvocation | undefined {
  if (argv[0] !== 'daemon') return undefined;
  const invocation: DaemonInvocation = {};
  for (let i = 1; i < argv.length; i++) {
    const match = /^--(config|socket)(?:=(.*))?$/.exec(argv[i]!);
    if (match === null) return undefined;
    const name = match[1] as keyof DaemonInvocation;
    const value = match[2] ?? argv[++i];
    if (value === undefined || value === '' || invocation[name] !== undefined) return undefined;
    // `--socket --config` is --socket without its value, as cli.ts reads it
    // (option-spelling.ts): cli.ts refuses it with the `--socket=PATH` advice.
    if (match[2] === undefined && value.startsWith('-')) return undefined;
    invocation[name] = value;
  }
  return invocation;
}

/** Runs the daemon until a signal stops it; returns the exit code. */
export async function runDaemonCommand(invocation: DaemonInvocation): Promise<number> {
  try {
    const { runDaemon } = await import('../daemon/main.js');
    await runDaemon({
      configPath: resolveConfigPath(process.env, invocation.config),
      // Absolute, as configure makes it: status then names it the same from any cwd.
      socketPath: resolve(resolveSocketPath(process.env, invocation.socket)),
      env: process.env,
    });
    return 0;
  } catch (error) {
    // A config file's text can reach the message (a key's name): printable.
    process.stderr.write(`${PROGRAM}: ${printable((error as Error).message, 4000)}\n`);
    // The README's table, as every other command: 2 for a malformed command
    // line, 1 for anything else (a config problem included).
    return error instanceof BrokerError ? exitCodeOf(error) : 1;
  }
}
