/**
 * The JSON report `status --json` and `token --json` print when they fail
 * before their handler could print one.
 */
import { BrokerError } from '../shared/errors.js';
import { printable, terminalJson } from '../shared/printable.js';
import { commandWord } from './command-line.js';
import { jsonWanted } from './option-spelling.js';

/** The word after --socket, unless it is an option standing where the path should. */
function socketValue(word: string | undefined): string | undefined {
  return word?.startsWith('-') ? undefined : word;
}

/**
 * `status --json` and `token --json` promise a JSON object on stdout in
 * every case, a failure too: status's handler prints its own (found in
 * review: a command-line mistake printed none); token's is printed here
 * (found in a new-user trial: a script reading it got nothing).
 */
export function jsonForFailure(argv: string[], error: unknown, commandLineFault: boolean): void {
  if (!jsonWanted(argv)) return;
  const command = commandWord(argv);
  const failure = {
    error: printable((error as Error).message, 2000),
    code: error instanceof BrokerError ? error.code : 'INTERNAL',
  };
  let report: object;
  if (command === 'token') {
    report = failure;
  } else if (command === 'status' && commandLineFault) {
    const socketAt = argv.lastIndexOf('--socket');
    const socketFlag = argv.findLast((word) => word.startsWith('--socket='))?.slice(9);
    report = {
      running: false,
      socket: (socketAt === -1 ? undefined : socketValue(argv[socketAt + 1])) ?? socketFlag ?? null,
      ...failure,
    };
  } else {
    return;
  }
  process.stdout.write(`${terminalJson(report)}\n`);
}
