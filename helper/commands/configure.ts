/**
 * `configure`: points git at the broker for one host. Resets the host's
 * helper chain first (an empty `helper =`), so no storing helper configured
 * elsewhere keeps the broker's tokens, and turns on useHttpPath so git sends
 * the repository. Running it again with the same settings changes nothing
 * and says it was already configured. It fails when other config git reads
 * still gets in the broker's way (a helper run after it, say).
 */
import { isAbsolute, resolve } from 'node:path';
import { BrokerError } from '../../shared/errors.js';
import { resolveSocketPath } from '../../shared/paths.js';
import { printable } from '../../shared/printable.js';
import { helperCommand, isBrokerCommand } from './broker-command.js';
import { chainProblems as describeChainProblems, withoutValueProblem } from './chain-problems.js';
import { unsetBroker } from './configure-unset.js';
import { daemonWarnings } from './daemon-check.js';
import { gitBoolean } from './git-boolean.js';
import { readCredentialEntries, ScopeConfig, type GitConfigScope } from './git-config-scope.js';
import { helperChain, type ConfigEntry, type HelperChain } from './helper-chain.js';
import { HelperEntries } from './helper-entries.js';
import { parseHostOption } from './host-option.js';

export type { GitConfigScope } from './git-config-scope.js';

export interface ConfigureOptions {
  scope: GitConfigScope;
  /** `github.com`, or a URL whose scheme and host are kept (`http://127.0.0.1:8080`). */
  host: string;
  unset: boolean;
  socket?: string;
  env?: NodeJS.ProcessEnv;
  /**
   * The directory configure works in (default: the working directory): git
   * runs there, so it reads the config git reads there (and --local means
   * that repository), and a relative --socket is resolved against it.
   */
  cwd?: string;
}

export interface ConfigureResult {
  /** What configure wrote, removed or found in place, one line each. */
  lines: string[];
  /**
   * What still keeps git from running the broker alone for the host, with
   * useHttpPath on, now that its entries are in place: the command fails
   * with it (exit 1), though the entries stay written. Undefined when
   * nothing does.
   */
  failure: BrokerError | undefined;
  /**
   * What the user should know that does not fail the command (no daemon
   * answers yet, say), one line each, for stderr.
   */
  warnings: string[];
}

/** The credential context URL for a `--host` value. */
export function contextUrl(value: string): string {
  const { protocol, host } = parseHostOption(value);
  return `${protocol}://${host}`;
}

/** What a rewrite of useHttpPath replaced, for the output line. */
function replacedNote(values: (string | undefined)[]): string {
  if (values.length === 0) return '';
  if (values.length === 1 && values[0] === undefined) {
    return ' (replaced an entry without a value, which git refuses)';
  }
  const shown = values.map((value) =>
    value === undefined ? 'one without a value' : `'${printable(value, 40)}'`,
  );
  return values.length === 1
    ? ` (replaced ${shown[0]})`
    : ` (replaced ${values.length} entries: ${shown.join(', ')})`;
}

/**
 * The --socket configure writes: absolute, because git runs the helper in
 * whatever directory git runs in, where a relative path names another file.
 */
function helperSocket(options: ConfigureOptions): { socket?: string; notes: string[] } {
  if (options.socket === undefined) return { notes: [] };
  // Held to the daemon's rules (not empty, short enough) before it is written.
  resolveSocketPath({}, options.socket);
  if (isAbsolute(options.socket)) return { socket: options.socket, notes: [] };
  const socket = resolve(options.cwd ?? process.cwd(), options.socket);
  resolveSocketPath({}, socket);
  return {
    socket,
    notes: [
      `--socket '${printable(options.socket, 200)}' is relative: written as '${printable(socket, 300)}', since git runs the helper from other directories`,
    ],
  };
}

export async function configureGit(options: ConfigureOptions): Promise<ConfigureResult> {
  const env = options.env ?? process.env;
  // Git reads no system file then: what configure wrote there would never
  // run. Removing entries from it is still allowed.
  if (options.scope === 'system' && !options.unset && gitBoolean(env.GIT_CONFIG_NOSYSTEM)) {
    throw new BrokerError(
      'CONFIG',
      `GIT_CONFIG_NOSYSTEM is set, so git reads no system config and would never run what --system wrote; nothing was written: unset GIT_CONFIG_NOSYSTEM for this command, or use --global`,
    );
  }
  const { socket, notes: socketNotes } = helperSocket(options);
  const url = contextUrl(options.host);
  const helperKey = `credential.${url}.helper`;
  const pathKey = `credential.${url}.useHttpPath`;
  const config = new ScopeConfig(options.scope, env, options.cwd, helperKey);

  /** What git will really run for the host, read from every config file git reads here. */
  const readChain = async (): Promise<HelperChain> =>
    helperChain(
      await readCredentialEntries(env, options.cwd),
      parseHostOption(options.host),
      isBrokerCommand,
    );
  /**
   * The result once the broker's entries are in place. Anything of the
   * user's that still gets in their way fails the command, with `state`
   * saying the entries are there. They stay: they are right, the fix is in
   * another entry (often another file), and taking them back would leave
   * the host to the user's former helpers; the run after the fix then says
   * "already configured".
   */
  const finish = async (lines: string[], state: string): Promise<ConfigureResult> => {
    const problems = describeChainProblems(await readChain(), url);
    return {
      lines,
      failure:
        problems.length === 0
          ? undefined
          : new BrokerError('CONFIG', `${state}, but ${problems.join('; also, ')}`),
      // Written either way: the daemon may start, or learn the host, later.
      warnings: await daemonWarnings(parseHostOption(options.host), socket, env),
    };
  };

  const entries = await HelperEntries.read(config, helperKey);
  if (options.unset) return unsetBroker(config, entries, url, pathKey, readChain);
  const { values, theirs, theirNames } = entries;
  const command = helperCommand(socket);

  // The useHttpPath entries in the file configure writes (not those it
  // includes, which --replace-all leaves alone), with and without a value
  // (`key\nvalue`, `key`): git reads the last, but stops at any it refuses.
  const ownPathEntries = await config.entriesOf(pathKey);
  const pathValues = ownPathEntries.map((entry) => entry.value);

  // Git stops at a credential entry without a value before it runs any
  // helper, so the broker's entries could never run: write nothing, rather
  // than a change that does nothing and a run that looks half done. The line
  // is left to its owner: whether it lost a helper's name (and which) or was
  // meant as a reset, only they know, and a wrong guess runs a helper they
  // did not want or drops one they did. The one exception is a useHttpPath
  // entry configure replaces anyway: one in the very file it writes.
  const replaced = (entry: ConfigEntry): boolean =>
    entry.name === pathKey.toLowerCase() &&
    ownPathEntries.some((own) => own.scope === entry.scope && own.origin === entry.origin);
  const stopped = withoutValueProblem(await readChain(), url, { ignore: replaced });
  if (stopped !== undefined) {
    // Refused even when git goes on with the host's other requests: those
    // it stops at would fail where the broker is set up to serve them,
    // with an error far from configure, when one line fixes it now.
    const why = stopped.forSomeOnly
      ? ', since the broker would be set up for those requests too, and git would fail them'
      : '';
    throw new BrokerError(
      'CONFIG',
      `${stopped.what}; nothing was written${why}: ${stopped.fix}, then run configure again`,
    );
  }

  // Its two entries last, and no other of the broker's (an older form, say).
  const configured = entries.ours.size === 2 && values.at(-2) === '' && values.at(-1) === command;
  const pathOn =
    pathValues.every((value) => gitBoolean(value) !== undefined) &&
    gitBoolean(pathValues.at(-1)) === true;
  const theirNote =
    theirs.length > 0
      ? [
          `your ${helperKey} entries (${theirNames}) stay in the file but are reset by the broker's entries after them, so none can store the broker's tokens; 'configure --unset' puts them back in effect`,
        ]
      : [];
  if (configured && pathOn) {
    const place = config.where(await config.fileOf(helperKey));
    const result = await finish(
      [],
      `the broker's entries for ${url} are in place (${place}; nothing changed)`,
    );
    result.lines.push(
      ...socketNotes,
      result.failure === undefined
        ? `already configured: git runs the broker for ${url} (${place}); nothing changed`
        : `nothing changed: the broker's entries for ${url} are in place (${place})`,
      ...theirNote,
    );
    return result;
  }

  const lines = [...socketNotes, ...theirNote];
  if (configured) {
    lines.push(`the broker's ${helperKey} entries were already in place`);
  } else {
    await entries.removeOurs();
    if (entries.olderForms > 0) {
      lines.push(
        `removed the broker's ${helperKey} ${entries.olderForms === 1 ? 'entry' : 'entries'} in a form an older configure wrote`,
      );
    }
    // Appended: the empty entry resets every helper git has read before it,
    // the user's entries above included, which stay in the file untouched.
    await config.run(['--add', helperKey, '']);
    config.written.push(`the empty ${helperKey} entry`);
    await config.run(['--add', helperKey, command]);
    config.written.push(`the broker's ${helperKey} entry`);
    lines.push(
      `${helperKey} = (empty: resets the helper chain for ${url})`,
      `${helperKey} = ${command}`,
    );
  }
  if (pathOn) {
    lines.push(`${pathKey} was already on`);
  } else {
    // Every value at once: with several, a plain set is refused.
    await config.run(['--replace-all', pathKey, 'true']);
    lines.push(`${pathKey} = true${replacedNote(pathValues)}`);
  }
  const file = await config.fileOf(pathKey);
  return finish(
    [
      file === undefined
        ? `wrote git's ${config.flag} config:`
        : `wrote ${printable(file, 300)} (${config.flag}):`,
      ...lines,
    ],
    `the broker's entries for ${url} are written (${config.where(file)})`,
  );
}
