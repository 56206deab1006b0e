/**
 * Creates the directories for a file the broker writes (socket, lock, audit
 * log, detached daemon log), refusing a path on a kernel file system first.
 * Under /proc, Node's mkdirSync({ recursive: true }) never returns (Node
 * 20, found in review), so `daemon --detach --log-file /proc/x/y.log` hung
 * for good, and an audit log or socket there the same; /sys and its
 * kin refuse with an EPERM that says nothing about the mistake. Every
 * caller that creates directories for a path goes through here, so no
 * option can bring the hang back.
 */
import { existsSync, mkdirSync, rmdirSync, statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError } from './errors.js';

/** statfs(2) f_type of the Linux file systems where no file of ours can live. */
const KERNEL_FILESYSTEMS = new Map<number, string>([
  [0x9fa0, 'procfs'],
  [0x62656572, 'sysfs'],
  [0x27e0eb, 'cgroup'],
  [0x63677270, 'cgroup2'],
  [0x1cd1, 'devpts'],
  [0x64626720, 'debugfs'],
  [0x74726163, 'tracefs'],
  [0x73636673, 'securityfs'],
  [0x62656570, 'configfs'],
  [0xcafe4a11, 'bpf'],
]);

/** Where a path meets a kernel file system, and which one. */
export interface KernelFilesystem {
  /** The path's nearest existing directory, which is on that file system. */
  at: string;
  filesystem: string;
}

/** `path` itself if it exists, else the nearest directory above it that does. */
function nearestExisting(path: string): string {
  for (let dir = path; ; dir = dirname(dir)) {
    try {
      statfsSync(dir);
      return dir;
    } catch {
      if (dirname(dir) === dir) return dir;
    }
  }
}

/**
 * The kernel file system `path` would be created on (that of its nearest
 * existing ancestor), or undefined for an ordinary one. Linux only: other
 * systems number their file systems differently, and have no /proc hang.
 */
export function kernelFilesystemAt(path: string): KernelFilesystem | undefined {
  if (process.platform !== 'linux') return undefined;
  const at = nearestExisting(path);
  let type: number;
  try {
    type = statfsSync(at).type;
  } catch {
    return undefined;
  }
  const filesystem = KERNEL_FILESYSTEMS.get(type);
  return filesystem === undefined ? undefined : { at, filesystem };
}

/**
 * Throws a ConfigError naming `subject` (what was to be created, path
 * quoted) and `fix` when directories would have to be made for `directory`
 * on a kernel file system. One that exists is left to the caller: nothing
 * is made there, and an audit log at /proc/self/fd/1 keeps working.
 */
export function refuseKernelFilesystem(directory: string, subject: string, fix: string): void {
  if (existsSync(directory)) return;
  const found = kernelFilesystemAt(directory);
  if (found === undefined) return;
  throw new ConfigError(
    `cannot create ${subject}: '${found.at}' is on ${found.filesystem}, a file system the kernel makes up, where nothing can be created; ${fix}`,
  );
}

/**
 * Creates `directory` and the missing levels above it, each 0700 (under a
 * 0077 umask, so never wider even for a moment). Returns what it made,
 * outermost first, so that a start that fails can remove it again. When
 * levels are missing on a kernel file system, throws a ConfigError naming
 * `subject` and `fix` before creating anything; mkdir's own errors as
 * they come.
 */
export function makeDirectories(directory: string, subject: string, fix: string): string[] {
  refuseKernelFilesystem(directory, subject, fix);

  const previous = process.umask(0o077);
  let first: string | undefined;
  try {
    first = mkdirSync(directory, { recursive: true, mode: 0o700 });
  } finally {
    process.umask(previous);
  }
  if (first === undefined) return [];
  const made: string[] = [];
  for (let dir = directory; dir !== first && dir !== dirname(dir); dir = dirname(dir)) {
    made.unshift(dir);
  }
  made.unshift(first);
  return made;
}

/** Removes directories a start made, innermost first; leaves any not empty. */
export function removeDirectories(made: readonly string[]): void {
  for (const dir of [...made].reverse()) {
    try {
      rmdirSync(dir);
    } catch {
      // Not empty, or gone: what is left is named by the error being thrown.
    }
  }
}
