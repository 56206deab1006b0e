/**
 * The client's side of the wire protocol: a reply line parsed, told apart
 * from a reply of another release or of no broker at all. The fields an OK
 * reply carries for its op are checked after it (reply-shape.ts).
 */
import {
  BrokerError,
  DaemonUnreachableError,
  VersionMismatchError,
  isErrorCode,
} from './errors.js';
import { PROTOCOL_VERSION, type Reply, type WireError } from './protocol.js';
import { isRecord, parseLine } from './protocol-line.js';

/**
 * A reply the helper cannot read: the daemon's doing, not the user's input,
 * and nearly always a daemon from another release still running after an
 * upgrade. Git should stop (quit), and the user restart the daemon.
 */
function unreadableReply(reason: string, otherRelease: boolean): BrokerError {
  const fix = /restart the daemon/.test(reason)
    ? ''
    : '; helper and daemon must come from the same release: restart the daemon after upgrading (git-credential-broker stop, then start it again)';
  const message = `cannot read the broker daemon's reply: ${reason}${fix}`;
  return otherRelease
    ? new VersionMismatchError(message)
    : new DaemonUnreachableError(message, { quit: true });
}

/** A reply in another version of this protocol: a broker daemon of another release. */
function isOtherVersion(line: string): boolean {
  try {
    const value: unknown = JSON.parse(line);
    return isRecord(value) && typeof value.v === 'number' && value.v !== PROTOCOL_VERSION;
  } catch {
    return false;
  }
}

/**
 * A daemon's error as this release takes it: a code it does not know (a
 * later release's, or anything a daemon wrote there) becomes INTERNAL, the
 * daemon failing in a way this release cannot name, so that only known
 * codes reach output and exit codes.
 */
function wireError(error: Record<string, unknown>): WireError {
  const wire: WireError = {
    code: isErrorCode(error.code) ? error.code : 'INTERNAL',
    message: error.message as string,
    quit: error.quit === true,
  };
  if (typeof error.hint === 'string') wire.hint = error.hint;
  return wire;
}

/**
 * Why a reply line is in no version of this protocol, or undefined when it
 * is one: every broker daemon, of any release, answers a JSON object with
 * a numeric `v`. Anything else comes from a program that is no broker
 * daemon, and upgrading or restarting one would not help.
 */
export function foreignReply(line: string): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return 'its answer is not JSON';
  }
  if (!isRecord(value)) return 'its answer is not a JSON object';
  if (typeof value.v !== 'number') return 'its answer has no protocol version';
  return undefined;
}

/** What kind a value is, for a message: never its content. */
function kindOf(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/**
 * Which field of a reply that is neither OK nor an error is wrong, and how:
 * `"ok":"true"` had been called missing (found in review).
 */
function malformedPart(value: Record<string, unknown>): string {
  if (value.ok !== false) return `'ok' is not true or false (it is ${kindOf(value.ok)})`;
  if (!isRecord(value.error)) return `'error' is not an object (it is ${kindOf(value.error)})`;
  return `'error.message' is not a string (it is ${kindOf(value.error.message)})`;
}

/**
 * Parses one reply line; throws VersionMismatchError when it is a reply of
 * another protocol version, DaemonUnreachableError when it is no reply
 * (both quit).
 */
export function parseReply(line: string): Reply {
  let value: Record<string, unknown>;
  try {
    value = parseLine(line, 'reply from the daemon');
  } catch (error) {
    throw unreadableReply((error as Error).message, isOtherVersion(line));
  }
  if (value.ok === true) return value as Reply;
  if (value.ok === false && isRecord(value.error) && typeof value.error.message === 'string') {
    return { v: PROTOCOL_VERSION, ok: false, error: wireError(value.error) };
  }
  throw unreadableReply(`malformed reply from the daemon: ${malformedPart(value)}`, false);
}
