/**
 * What the helper does for each action git runs it with. This is the hot
 * path: git pays for every module loaded here, so it imports only node
 * built-ins and shared/.
 */
import { printable } from '../shared/printable.js';
import { askDaemon } from './ask-daemon.js';
import { BadRequestError, BrokerError, toBrokerError } from '../shared/errors.js';
import {
  PROTOCOL_VERSION,
  type CredentialTarget,
  type EraseRequest,
  type Requester,
  type WireCredential,
} from '../shared/protocol.js';
import {
  parseCredentialInput,
  formatCredentialOutput,
  type CredentialAttributes,
} from './credential-protocol.js';

export const PROGRAM = 'git-credential-broker';

export type GitAction = 'get' | 'store' | 'erase';

export interface ActionIo {
  input: string;
  socketPath: string;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

export function requester(): Requester {
  const who: Requester = { pid: process.pid, ppid: process.ppid, cwd: process.cwd() };
  const uid = process.getuid?.();
  if (uid !== undefined) who.uid = uid;
  return who;
}

function targetOf(attributes: CredentialAttributes): CredentialTarget {
  if (attributes.protocol === undefined || attributes.host === undefined) {
    throw new BadRequestError('git sent no protocol or host; nothing to authenticate');
  }
  const target: CredentialTarget = { protocol: attributes.protocol, host: attributes.host };
  if (attributes.path !== undefined) target.path = attributes.path;
  return target;
}

/**
 * The exit code of a failed command, the same for every command and every
 * git action (see the README's table): 2 when what was asked is malformed
 * (the command line, git's input), 1 for any other refusal or failure.
 * Git ignores it; what git reads is the output (nothing, or quit=1).
 */
export function exitCodeOf(error: BrokerError): number {
  return error.code === 'BAD_REQUEST' ? 2 : 1;
}

/** Reports an error on stderr as one line; asks git to stop when it cannot recover. */
function report(error: BrokerError, io: ActionIo, action: GitAction): number {
  const hint = error.hint === undefined ? '' : `; ${error.hint}`;
  io.stderr(`${PROGRAM}: ${printable(`${error.message}${hint}`, 2000)}\n`);
  if (action === 'get' && error.quit) io.stdout('quit=1\n');
  return exitCodeOf(error);
}

/**
 * The credential lines for git, from the daemon's credential. One git
 * cannot take (a newline in a value) is the daemon's fault, not git's
 * input: exit 1, not the 2 of a malformed request, and git still stops.
 */
function daemonCredential(credential: WireCredential): string {
  try {
    return formatCredentialOutput({
      username: credential.username,
      password: credential.secret,
      password_expiry_utc: Math.floor(credential.expiresAtMs / 1000),
    });
  } catch (error) {
    throw new BrokerError(
      'INTERNAL',
      `the broker daemon sent a credential git cannot take: ${(error as Error).message}; restart the daemon, and report it if it persists`,
      { quit: true },
    );
  }
}

/** Runs one git action; returns the exit code (git ignores it, people do not). */
export async function runGitAction(action: GitAction, io: ActionIo): Promise<number> {
  // The daemon keeps only what it minted; there is nothing for it to store.
  if (action === 'store') return 0;

  try {
    const attributes = parseCredentialInput(io.input);
    const target = targetOf(attributes);

    if (action === 'erase') {
      const request: EraseRequest = {
        v: PROTOCOL_VERSION,
        op: 'erase',
        target,
        requester: requester(),
      };
      if (attributes.password !== undefined) request.password = attributes.password;
      await askDaemon(io.socketPath, request);
      return 0;
    }

    const reply = await askDaemon(
      io.socketPath,
      { v: PROTOCOL_VERSION, op: 'get', target, requester: requester() },
      { autostart: true },
    );
    if (!reply.credential)
      throw new BrokerError('INTERNAL', 'the daemon answered without a credential');

    io.stdout(daemonCredential(reply.credential));
    return 0;
  } catch (error) {
    return report(toBrokerError(error, 'helper'), io, action);
  }
}
