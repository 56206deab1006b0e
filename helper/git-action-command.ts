/**
 * git's actions (get, store, erase) as commands of the CLI, so that --help
 * lists them; git itself never runs them through yargs (git-invocation.ts).
 */
import type { Argv } from 'yargs';
import { BrokerError } from '../shared/errors.js';
import { printable } from '../shared/printable.js';
import { examples } from './help-examples.js';

/**
 * One of git's actions as a command of its own, so its --help names it.
 * Reached only when the words around the action were not a git invocation
 * (that path never loads this file).
 */
const GIT_CREDENTIAL_VERB = { get: 'fill', store: 'approve', erase: 'reject' } as const;

export function gitActionCommand(
  action: 'get' | 'store' | 'erase',
  describe: string,
  argv: string[],
) {
  return {
    command: action,
    describe,
    builder: (command: Argv) =>
      command.epilog(
        examples([
          [
            `$0 ${action} < request.txt`,
            'what git runs: protocol=, host=, path= lines, a blank line',
          ],
          [
            `git credential ${GIT_CREDENTIAL_VERB[action]}`,
            'the same through git: url=https://github.com/acme/widgets.git on stdin',
          ],
          ['$0 configure', 'sets git up to run it (see configure --help)'],
        ]),
      ),
    handler: (): void => {
      throw new BrokerError(
        'BAD_REQUEST',
        `get, store and erase take only --socket PATH (once, before or after the action); got '${printable(argv.join(' '), 200)}'`,
      );
    },
  };
}
