/**
 * What a broker daemon process was started with, from /proc (Linux): lets
 * `daemon --detach` tell a listener from the daemon's own socket, and a
 * daemon refused a socket point to the holder's own socket, where `stop`
 * is served, rather than to a listener, where it is refused.
 */
import { readFileSync, readlinkSync } from 'node:fs';
import { resolve } from 'node:path';
import { resolveConfigPath, resolveSocketPath } from './paths.js';
import { processArguments } from './process-arguments.js';

/** The config and socket a daemon process was started with, as absolute paths. */
export interface DaemonInvocation {
  config: string;
  socket: string;
}

/** The value of `--NAME VALUE` or `--NAME=VALUE` among `words`, as yargs reads them. */
function optionValue(words: readonly string[], name: string): string | undefined {
  let value: string | undefined;
  for (const [i, word] of words.entries()) {
    if (word === `--${name}`) value = words[i + 1];
    else if (word.startsWith(`--${name}=`)) value = word.slice(name.length + 3);
  }
  return value;
}

/** A process's environment, from /proc; undefined where it cannot be read. */
function processEnvironment(pid: number, procRoot: string): NodeJS.ProcessEnv | undefined {
  try {
    const text = readFileSync(`${procRoot}/${pid}/environ`, 'utf8');
    const env: NodeJS.ProcessEnv = {};
    for (const entry of text.split('\0')) {
      const at = entry.indexOf('=');
      if (at > 0) env[entry.slice(0, at)] = entry.slice(at + 1);
    }
    return env;
  } catch {
    return undefined;
  }
}

/**
 * What `pid` (a broker daemon, checked) was started with: its --config and
 * --socket, else what its environment gave, resolved against its working
 * directory, as the daemon itself resolved them. Undefined where /proc
 * cannot tell (not Linux, or unreadable).
 */
export function daemonInvocation(pid: number, procRoot = '/proc'): DaemonInvocation | undefined {
  const words = processArguments(pid, procRoot);
  const env = processEnvironment(pid, procRoot);
  if (words === undefined || env === undefined) return undefined;
  try {
    const cwd = readlinkSync(`${procRoot}/${pid}/cwd`);
    return {
      config: resolve(cwd, resolveConfigPath(env, optionValue(words, 'config'))),
      socket: resolve(cwd, resolveSocketPath(env, optionValue(words, 'socket'))),
    };
  } catch {
    return undefined;
  }
}
