/**
 * Reads a file a config names (the config file itself, a private key) only
 * when it is a regular file, and only up to a size bound. A FIFO's open(2)
 * blocks until a writer comes, which wedged a libuv thread for good: every
 * later reload queued behind it and the daemon could not exit (found in
 * review). /dev/zero and its kind never end, so a plain read would fill the
 * heap.
 *
 * The path is opened with O_NONBLOCK (a FIFO's open returns at once; a
 * regular file ignores the flag) and O_NOCTTY, then checked with fstat on
 * the descriptor itself, so a swap between a check and the open cannot
 * slip anything else in. Symbolic links are followed: a link to a regular
 * file is fine, a link to a FIFO is refused like the FIFO.
 */
import { constants, type Stats } from 'node:fs';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';

const CHUNK_BYTES = 64 * 1024;
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY;

/** Thrown for a path that is not a regular file or is too large. */
export class NotRegularFileError extends Error {
  /** ENOTREG for a FIFO, device, socket; EISDIR; EFBIG when over the bound. */
  readonly code: 'ENOTREG' | 'EISDIR' | 'EFBIG';
  /** What the path is, in words: "a named pipe (FIFO)", "larger than 1 MiB". */
  readonly what: string;

  constructor(code: 'ENOTREG' | 'EISDIR' | 'EFBIG', what: string) {
    super(`${code}: ${what}`);
    this.code = code;
    this.what = what;
  }
}

/** What a non-regular file is, in words a user knows. */
export function fileKind(stats: Stats): string {
  if (stats.isFIFO()) return 'a named pipe (FIFO)';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isSocket()) return 'a socket';
  if (stats.isDirectory()) return 'a directory';
  return 'not a regular file';
}

function bytesText(bytes: number): string {
  return bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB` : `${bytes / 1024} KiB`;
}

function refuse(stats: Stats, maxBytes: number): NotRegularFileError | undefined {
  if (stats.isDirectory()) return new NotRegularFileError('EISDIR', 'a directory');
  if (!stats.isFile()) return new NotRegularFileError('ENOTREG', fileKind(stats));
  if (stats.size > maxBytes) return tooLarge(maxBytes);
  return undefined;
}

function tooLarge(maxBytes: number): NotRegularFileError {
  return new NotRegularFileError('EFBIG', `larger than ${bytesText(maxBytes)}`);
}

/**
 * The bytes of a regular file of at most `maxBytes`. Throws the open's
 * errno error (ENOENT, EACCES, ENXIO for a socket) or NotRegularFileError.
 * A file that grows past the bound while read is refused too.
 */
export async function readRegularFile(path: string, maxBytes: number): Promise<Buffer> {
  const handle = await open(path, OPEN_FLAGS);
  try {
    const problem = refuse(await handle.stat(), maxBytes);
    if (problem !== undefined) throw problem;
    const chunks: Buffer[] = [];
    let length = 0;
    for (;;) {
      const chunk = Buffer.alloc(CHUNK_BYTES);
      const { bytesRead } = await handle.read(chunk, 0, CHUNK_BYTES, null);
      if (bytesRead === 0) return Buffer.concat(chunks, length);
      chunks.push(chunk.subarray(0, bytesRead));
      length += bytesRead;
      if (length > maxBytes) throw tooLarge(maxBytes);
    }
  } finally {
    await handle.close();
  }
}

/** readRegularFile for the helper's synchronous paths. */
export function readRegularFileSync(path: string, maxBytes: number): Buffer {
  const fd = openSync(path, OPEN_FLAGS);
  try {
    const problem = refuse(fstatSync(fd), maxBytes);
    if (problem !== undefined) throw problem;
    const chunks: Buffer[] = [];
    let length = 0;
    for (;;) {
      const chunk = Buffer.alloc(CHUNK_BYTES);
      const bytesRead = readSync(fd, chunk, 0, CHUNK_BYTES, null);
      if (bytesRead === 0) return Buffer.concat(chunks, length);
      chunks.push(chunk.subarray(0, bytesRead));
      length += bytesRead;
      if (length > maxBytes) throw tooLarge(maxBytes);
    }
  } finally {
    closeSync(fd);
  }
}

/** The largest config file read: far above any real one, far below the heap. */
export const MAX_CONFIG_BYTES = 4 * 1024 * 1024;
/** The largest private key read: an RSA-16384 PEM is about 13 KiB. */
export const MAX_PRIVATE_KEY_BYTES = 64 * 1024;

/**
 * The reason part of a read error, for a message: "is a named pipe (FIFO)",
 * "is larger than 4 MiB", or the errno code (ENXIO is what opening a
 * socket gives).
 */
export function readProblem(error: unknown): string {
  if (error instanceof NotRegularFileError) return `is ${error.what}`;
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENXIO') return 'is a socket or a device with nothing behind it (ENXIO)';
  return code ?? 'unknown error';
}
