#!/usr/bin/env node
/**
 * git-credential-broker as an ES module: the git actions and every command
 * for people (`daemon`, `status`, `--help`). The installed binary is the
 * bundled bin.ts, which answers git itself and hands the rest to this file.
 */
import { exitQuietlyWhenStdoutCloses } from './closed-stdout.js';
import { parseGitInvocation, runGitInvocation } from './git-invocation.js';

// Here too: main.js also runs on its own (autostart, a source checkout).
exitQuietlyWhenStdoutCloses();

async function main(argv: string[]): Promise<number> {
  const invocation = parseGitInvocation(argv);
  if (invocation !== undefined) return runGitInvocation(invocation);
  const { parseDaemonInvocation, runDaemonCommand } = await import('./daemon-command.js');
  const daemon = parseDaemonInvocation(argv);
  if (daemon !== undefined) return runDaemonCommand(daemon);
  const { runCli } = await import('./cli.js');
  return runCli(argv);
}

process.exitCode = await main(process.argv.slice(2));
