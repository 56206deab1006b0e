/**
 * The socket a credential program prints to, made by the daemon before the
 * program starts, so that its kernel name (`socket:[inode]`) is known for
 * sure: a process the program started that keeps its output open after it
 * has left the program's group is found by it (escaped-processes.ts). With
 * the `pipe` that spawn makes, that name could only be read from the
 * program's /proc entry, which is gone if the program is quick to exit.
 */
import { fstatSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface OutputSocket {
  /** The daemon's end: the program's output is read here. */
  reader: Socket;
  /** The program's end, to pass as its stdout and then destroy. */
  writer: Socket;
  /** The writer's kernel name, as /proc/<pid>/fd shows it. */
  name: string;
}

/** The socket's file descriptor: not in Node's types, but set on Unix. */
function fdOf(socket: Socket): number {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw new Error('a socket without a file descriptor');
  return fd;
}

/**
 * A connected pair of Unix sockets. Made through a listening socket in a
 * directory only this user can enter (mode 0700, mkdtemp), gone as soon as
 * the pair is connected: no other user can connect in its place and read
 * what the program prints.
 */
export async function openOutputSocket(): Promise<OutputSocket> {
  const dir = mkdtempSync(join(tmpdir(), 'git-credential-broker-'));
  const path = join(dir, 'out');
  const server = createServer();
  server.maxConnections = 1;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, resolve);
    });
    const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
    const writer = connect(path);
    await new Promise<void>((resolve, reject) => {
      writer.once('error', reject);
      writer.once('connect', resolve);
    });
    const reader = await accepted;
    return { reader, writer, name: `socket:[${fstatSync(fdOf(writer)).ino}]` };
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
