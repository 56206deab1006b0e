/**
 * The commands people run. Loaded only off git's hot path.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { BrokerError } from '../shared/errors.js';
import { resolveConfigPath, resolveSocketPath } from '../shared/paths.js';
import { VERSION } from '../shared/version.js';
import { PROGRAM } from './git-actions.js';

export async function runCli(argv: string[]): Promise<number> {
  let exitCode = 0;
  try {
    await yargs(argv)
      .scriptName(PROGRAM)
      .usage(
        `$0 <command>\n\nHands git short-lived, repository-scoped tokens from a local daemon.\nGit runs it as a credential helper with get, store or erase.`,
      )
      .option('socket', {
        type: 'string',
        describe:
          'daemon socket path (default: $GIT_CREDENTIAL_BROKER_SOCKET, else under $XDG_RUNTIME_DIR or ~/.cache)',
      })
      .command(
        'daemon',
        'run the broker daemon in the foreground',
        (command) =>
          command
            .option('config', {
              type: 'string',
              describe:
                'config file (default: $GIT_CREDENTIAL_BROKER_CONFIG, else ~/.config/git-credential-broker/config.json)',
            })
            .example('$0 daemon', 'serve with the default config and socket')
            .example(
              '$0 daemon --config ./broker.json --socket /run/broker/daemon.sock',
              'explicit paths',
            ),
        async (args) => {
          const { runDaemon } = await import('../daemon/main.js');
          await runDaemon({
            configPath: resolveConfigPath(process.env, args.config),
            socketPath: resolveSocketPath(process.env, args.socket),
            env: process.env,
          });
        },
      )
      .command(['get', 'store', 'erase'], 'credential helper actions, run by git (input on stdin)')
      .demandCommand(1, 'name a command; see --help')
      .strict()
      .version(VERSION)
      .help()
      .fail((message, error) => {
        throw error ?? new BrokerError('BAD_REQUEST', message);
      })
      .parseAsync();
  } catch (error) {
    process.stderr.write(`${PROGRAM}: ${(error as Error).message}\n`);
    exitCode = error instanceof BrokerError && error.code !== 'INTERNAL' ? 2 : 1;
  }
  return exitCode;
}

// hideBin is kept for callers that pass process.argv whole.
export { hideBin };
