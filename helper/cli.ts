/**
 * The commands people run. Loaded only off git's hot path: `get`, `store`
 * and `erase` never load yargs.
 */
import { resolve } from 'node:path';
import yargs, { type Argv } from 'yargs';
import { BrokerError } from '../shared/errors.js';
import { printable } from '../shared/printable.js';
import { resolveConfigPath, resolveSocketPath } from '../shared/paths.js';
import { VERSION } from '../shared/version.js';
import { COMMAND_NAMES } from './command-names.js';
import {
  commandFirst,
  commandWord,
  helpFor,
  mistake,
  refuseUnknownCommand,
} from './command-line.js';
import { configureGit, type GitConfigScope } from './commands/configure.js';
import { runDaemonCommand } from './commands/daemon-commands.js';
import { showStatus } from './commands/status-command.js';
import { stopDaemon } from './commands/stop-command.js';
import { reloadDaemon } from './commands/reload.js';
import { printToken } from './commands/token.js';
import { exitCodeOf, PROGRAM } from './git-actions.js';
import { gitActionCommand } from './git-action-command.js';
import { examples } from './help-examples.js';
import { jsonForFailure } from './json-failure.js';
import { knownOptions, refuseOptionSpellings, unknownOptionHint } from './option-spelling.js';

export { COMMAND_NAMES };

const print = (text: string): void => void process.stdout.write(text);

const CONFIG_HELP =
  'config file (default: $GIT_CREDENTIAL_BROKER_CONFIG, else git-credential-broker/config.json in $XDG_CONFIG_HOME or ~/.config; that variable set but empty is refused)';

function socketOf(args: { socket?: string | undefined }): string {
  return resolveSocketPath(process.env, args.socket);
}

function withConfig<T>(command: Argv<T>) {
  return command.option('config', { type: 'string', requiresArg: true, describe: CONFIG_HELP });
}

export async function runCli(given: string[]): Promise<number> {
  const argv = commandFirst(given);
  // Until yargs runs a handler, whatever fails is the command line's fault.
  let commandLineFault = true;
  try {
    // yargs would take what follows as stray words and do nothing.
    if (argv.includes('--')) {
      throw new BrokerError(
        'BAD_REQUEST',
        `'--' is not used by ${PROGRAM}; see '${PROGRAM} --help'`,
      );
    }
    refuseUnknownCommand(argv);
    refuseOptionSpellings(argv);
    commandLineFault = false;
    const parser = yargs(argv);
    await parser
      // An option given twice takes its last value, as in most tools (found in
      // review: the array reached code expecting a string: TypeError, exit 1).
      .parserConfiguration({ 'duplicate-arguments-array': false })
      .scriptName(PROGRAM)
      .usage(
        [
          '$0 <command> [options]',
          '',
          'Hands git short-lived, repository-scoped tokens from a local daemon.',
          'Start:  $0 daemon --detach',
          'Then:   $0 configure',
          'The daemon reads git-credential-broker/config.json in $XDG_CONFIG_HOME',
          '(else ~/.config), or --config; configure',
          'points git at the broker for github.com. Git then runs it as a',
          'credential helper with get, store or erase.',
        ].join('\n'),
      )
      .option('socket', {
        type: 'string',
        requiresArg: true,
        describe:
          'daemon socket (default: $GIT_CREDENTIAL_BROKER_SOCKET, else under $XDG_RUNTIME_DIR or ~/.cache; that variable set but empty is refused)',
      })
      .command(
        'daemon',
        'run the broker daemon (foreground unless --detach)',
        (command) =>
          withConfig(command)
            .option('detach', {
              type: 'boolean',
              default: false,
              describe: 'run in the background and return once it answers',
            })
            .option('log-file', {
              type: 'string',
              requiresArg: true,
              describe:
                "with --detach: the daemon's log (default: one per socket under $XDG_STATE_HOME)",
            })
            .epilog(
              examples([
                ['$0 daemon', 'serve in the foreground (for systemd or a container entrypoint)'],
                ['$0 daemon --detach', 'start in the background'],
                ['$0 daemon --config ./broker.json', 'a config file other than the default'],
                [
                  '$0 daemon --detach --socket /run/gcb/daemon.sock',
                  'another socket (pass the same --socket to every other command)',
                ],
              ]),
            ),
        (args) =>
          runDaemonCommand({
            configPath: resolveConfigPath(process.env, args.config),
            // Absolute from here on, as configure makes it: a detached
            // daemon's status, lock and log name it the same from any cwd.
            socketPath: resolve(socketOf(args)),
            detach: args.detach,
            logFile: args.logFile,
            print,
          }),
      )
      .command(
        'stop',
        'stop the daemon after it answers requests in flight',
        (command) =>
          command.epilog(examples([['$0 stop', 'stop the daemon on the default socket']])),
        (args) => stopDaemon(socketOf(args), print),
      )
      .command(
        'reload',
        'reload the config file and its keys (sends the daemon SIGHUP)',
        (command) =>
          command.epilog(
            examples([
              ['$0 reload', 'after changing the config (listeners and auditLog need a restart)'],
            ]),
          ),
        (args) => reloadDaemon(socketOf(args), print),
      )
      .command(
        'status',
        'show whether the daemon runs, its integrations, cache and counters (never a secret)',
        (command) =>
          command
            .option('json', {
              type: 'boolean',
              default: false,
              describe: 'print the status as JSON',
            })
            .epilog(
              examples([
                ['$0 status', 'human-readable status'],
                ['$0 status --json', 'for scripts'],
              ]),
            ),
        // The socket is resolved inside: a bad one still gets a JSON answer.
        (args) => showStatus(args.socket, args.json, print),
      )
      .command(
        'configure',
        "point git at the broker for a host (resets that host's helper chain, turns on useHttpPath)",
        (command) =>
          command
            .option('global', {
              type: 'boolean',
              describe:
                'write the global config: $GIT_CONFIG_GLOBAL, else ~/.gitconfig (the default)',
            })
            .option('local', { type: 'boolean', describe: "write this repository's .git/config" })
            .option('system', { type: 'boolean', describe: 'write the system gitconfig' })
            .conflicts('global', ['local', 'system'])
            .conflicts('local', 'system')
            .option('host', {
              type: 'string',
              requiresArg: true,
              default: 'github.com',
              describe: 'host, or a URL such as https://ghe.example.com',
            })
            .option('unset', {
              type: 'boolean',
              default: false,
              describe: 'remove what configure wrote',
            })
            .epilog(
              examples([
                ['$0 configure', 'for github.com, in ~/.gitconfig'],
                [
                  '$0 configure --host ghe.example.com --system',
                  'GitHub Enterprise Server, for every user',
                ],
                [
                  '$0 configure --host http://127.0.0.1:8080',
                  'a server on this machine that serves git over plain http',
                ],
                [
                  '$0 configure --socket /run/gcb/daemon.sock',
                  'git runs the helper with that socket',
                ],
                ['$0 configure --unset', 'undo'],
              ]),
            ),
        async (args) => {
          const scope: GitConfigScope = args.local ? 'local' : args.system ? 'system' : 'global';
          const { lines, failure, warnings } = await configureGit({
            scope,
            host: args.host,
            unset: args.unset,
            ...(args.socket === undefined ? {} : { socket: args.socket }),
          });
          print(`${lines.join('\n')}\n`);
          for (const warning of warnings) {
            process.stderr.write(`${PROGRAM}: warning: ${printable(warning, 2000)}\n`);
          }
          // Written, but not a configuration to rely on: exit 1.
          if (failure !== undefined) throw failure;
        },
      )
      .command(
        'token <repository>',
        'print a token for owner/repo or a clone URL, for tools other than git',
        (command) =>
          command
            .positional('repository', {
              type: 'string',
              demandOption: true,
              describe: 'owner/repo or a clone URL',
            })
            .option('host', {
              type: 'string',
              requiresArg: true,
              describe:
                'host for an owner/repo argument, or its URL (http://127.0.0.1:8080 for plain http on loopback); default: the one host the daemon serves',
            })
            .option('permission', {
              type: 'string',
              array: true,
              requiresArg: true,
              default: [] as string[],
              describe: 'narrower permission, name=level (repeatable)',
            })
            .option('json', {
              type: 'boolean',
              default: false,
              describe: 'print the whole envelope as JSON',
            })
            .epilog(
              examples([
                [
                  '$0 token acme/widgets',
                  'the raw token, on one line, for the host the daemon serves',
                ],
                [
                  '$0 token acme/widgets --permission contents=read --json',
                  'read-only, with expiry and grants',
                ],
                [
                  '$0 token acme/widgets --host ghe.example.com',
                  'one host of several the daemon serves',
                ],
                ['$0 token https://ghe.example.com/acme/widgets.git', 'the same, by URL'],
                [
                  '$0 token acme/widgets --host http://127.0.0.1:8080',
                  'a server on this machine that serves git over plain http',
                ],
              ]),
            ),
        (args) =>
          printToken({
            socketPath: socketOf(args),
            repository: args.repository,
            host: args.host,
            permissions: args.permission,
            json: args.json,
            print,
          }),
      )
      .command(gitActionCommand('get', "ask the daemon for git's credential (run by git)", argv))
      .command(
        gitActionCommand('store', 'accepted and ignored: the daemon keeps what it mints', argv),
      )
      .command(
        gitActionCommand(
          'erase',
          'drop and revoke the token git used (run by git after a 401)',
          argv,
        ),
      )
      .demandCommand(1, 'name a command')
      .strict()
      // Piped into a pager or a file, help is read at a width no one knows: 80.
      .wrap(Math.min(100, process.stdout.columns ?? 80))
      .version(VERSION)
      .help()
      .fail((message, error) => {
        // yargs calls this for its own parse errors (no error, or its YError
        // for an option without a value) and for what a handler threw,
        // which has reported itself already.
        commandLineFault = error === undefined || error.name === 'YError';
        if (!commandLineFault) throw error;
        const meant = unknownOptionHint(message, knownOptions(parser), argv);
        throw new BrokerError(
          'BAD_REQUEST',
          `${mistake(message, commandWord(argv))}${meant}; see '${helpFor(argv)}'`,
        );
      })
      .parseAsync();
    return 0;
  } catch (error) {
    process.stderr.write(`${PROGRAM}: ${printable((error as Error).message, 2000)}\n`);
    jsonForFailure(argv, error, commandLineFault);
    // A `get` git might have run (a helper line with a typo): stop git, do
    // not let it prompt.
    if (commandWord(argv) === 'get') process.stdout.write('quit=1\n');
    return error instanceof BrokerError ? exitCodeOf(error) : 1;
  }
}
