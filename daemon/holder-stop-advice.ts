/**
 * How to stop the broker daemon that holds a socket path this one was
 * asked to listen on. `stop --socket` on that path is right only when it
 * is the holder's own socket: a listener with a client policy refuses
 * stop, so pointing there sent the user to a command that always fails.
 */
import { daemonInvocation } from '../shared/daemon-invocation.js';
import { shellQuote } from '../shared/printable.js';
import { processArguments } from '../shared/process-arguments.js';
import { samePath } from '../shared/same-path.js';

/** The stop command that reaches the daemon on this socket. */
export function stopCommand(socketPath: string): string {
  return `git-credential-broker stop --socket ${shellQuote(socketPath)}`;
}

/**
 * What stops daemon `pid` on `socketPath`: stop on that socket when it is
 * the daemon's own, stop on its own socket when `socketPath` is one of its
 * listeners, and SIGTERM where /proc cannot tell which (not Linux, another
 * user's process), since a listener would refuse stop.
 */
export function holderStopAdvice(socketPath: string, pid: number | undefined): string {
  if (pid === undefined) return stopCommand(socketPath);
  // Only a process started as `daemon` is read as one: anything else
  // holding a lock (a test's node process) has no socket of its own.
  const words = processArguments(pid);
  const started = words?.includes('daemon') === true ? daemonInvocation(pid) : undefined;
  if (started === undefined) return `kill -TERM ${pid}`;
  if (samePath(started.socket, socketPath)) return stopCommand(socketPath);
  return `${stopCommand(started.socket)}, its own socket: '${socketPath}' is one of its listeners, which refuse stop when they have a client policy; or kill -TERM ${pid}`;
}
