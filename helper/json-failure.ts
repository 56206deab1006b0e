/**
 * The JSON report `status --json` and `token --json` print when they fail
 * before their handler could print one.
 */
import { BrokerError } from '../shared/errors.js';
import { printable, terminalJson } from '../shared/printable.js';
import { commandWord } from './command-line.js';
import { jsonWanted } from './option-spelling.js';

/**
 * The socket yargs would use: the last --socket, in either spelling (found
 * in review: `--socket=A --socket B` named A). A --socket followed by an
 * option has no path.
 */
function lastSocket(argv: string[]): string | undefined {
  let socket: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (word.startsWith('--socket=')) socket = word.slice('--socket='.length);
    else if (word === '--socket') socket = argv[i + 1]?.startsWith('-') ? undefined : argv[++i];
  }
  return socket;
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
    const socket = lastSocket(argv);
    report = {
      running: false,
      socket: socket ?? null,
      ...failure,
    };
  } else {
    return;
  }
  // As status --json redacts (a token typed where a path goes); token's report holds none.
  process.stdout.write(`${terminalJson(report, { redactTokens: true })}\n`);
}
