/**
 * Prepares the place the daemon listens on: a private directory and at most
 * one live daemon per socket path.
 */
import { connect } from 'node:net';
import { lstatSync, mkdirSync, statSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError } from '../shared/errors.js';

/** Creates the socket's directory 0700, or checks an existing one. */
export function ensurePrivateDirectory(directory: string): void {
  // mkdir with an explicit mode under a tight umask: the directory is never
  // visible with wider permissions, not even between mkdir and chmod.
  const previous = process.umask(0o077);
  try {
    mkdirSync(directory, { recursive: true, mode: 0o700 });
  } finally {
    process.umask(previous);
  }

  const stats = statSync(directory);
  const uid = process.getuid?.();
  if (uid !== undefined && stats.uid !== uid) {
    throw new ConfigError(
      `socket directory '${directory}' belongs to uid ${stats.uid}, not to this user (uid ${uid}); use a directory of your own with --socket`,
    );
  }
  if ((stats.mode & 0o077) !== 0) {
    throw new ConfigError(
      `socket directory '${directory}' is accessible to other users (mode ${(stats.mode & 0o777).toString(8)}); run: chmod 700 '${directory}'`,
    );
  }
}

/** Resolves whether something accepts connections on the socket. */
export function socketAnswers(socketPath: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(socketPath);
    const done = (answers: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answers);
    };
    const timer = setTimeout(() => done(true), timeoutMs);
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Makes the socket path free to listen on: refuses while another daemon
 * answers there, and removes the file a crashed daemon left behind.
 */
export async function claimSocketPath(socketPath: string): Promise<void> {
  ensurePrivateDirectory(dirname(socketPath));

  let stats;
  try {
    stats = lstatSync(socketPath);
  } catch {
    return;
  }
  // Only a socket is ours to remove: a file there means a wrong --socket.
  if (!stats.isSocket()) {
    throw new ConfigError(
      `'${socketPath}' exists and is not a socket; remove it yourself or choose another path with --socket`,
    );
  }

  if (await socketAnswers(socketPath)) {
    throw new ConfigError(
      `another broker daemon is already listening on '${socketPath}'; stop it first, or choose another path with --socket`,
    );
  }
  unlinkSync(socketPath);
}
