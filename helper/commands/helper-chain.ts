/**
 * The credential helpers git runs for a host, worked out the way git does:
 * every `credential.helper` and `credential.<url>.helper` entry that applies
 * to the host, in the order git reads its config files (system, global,
 * repository, command line), an empty value clearing the list so far; and
 * `useHttpPath` as the last entry that applies sets it. Any `credential.*`
 * entry without a value that applies stops git before it runs a helper.
 */
import { printable } from '../../shared/printable.js';
import { gitBoolean } from './git-boolean.js';
import { matchCredentialUrl, type CredentialContext } from './credential-url-match.js';

/** One entry of `git config -z --show-origin --show-scope --get-regexp`. */
export interface ConfigEntry {
  scope: string;
  /** Where git read it: `file:/home/me/.gitconfig`, `command line:`. */
  origin: string;
  /** The key as git prints it: section and variable lowercase. */
  name: string;
  /** Undefined for an entry without a value (`[credential] helper`). */
  value: string | undefined;
}

/** Parses `scope\0origin\0key\nvalue\0` records (`key\0` for an entry without a value). */
export function parseConfigEntries(output: string): ConfigEntry[] {
  const fields = output.split('\0');
  const entries: ConfigEntry[] = [];
  for (let i = 0; i + 2 < fields.length; i += 3) {
    const record = fields[i + 2]!;
    const newline = record.indexOf('\n');
    entries.push({
      scope: fields[i]!,
      origin: fields[i + 1]!,
      name: newline === -1 ? record : record.slice(0, newline),
      value: newline === -1 ? undefined : record.slice(newline + 1),
    });
  }
  return entries;
}

export interface HelperChain {
  /** True when git runs a broker helper for every repository on the host. */
  brokerRuns: boolean;
  /** The empty entry that cleared the broker from the list, when one did. */
  droppedBy: ConfigEntry | undefined;
  /** Helpers git runs after the broker for every repository on the host. */
  after: ConfigEntry[];
  /** Helpers after the broker for some requests only (a user name or path in the key). */
  afterForSome: ConfigEntry[];
  /** The useHttpPath entry git goes by for the host, if any. */
  useHttpPath: ConfigEntry | undefined;
  /**
   * Entries without a value (`[credential] helper`, no `=`) that apply to
   * every request for the host: git's credential code stops at the first
   * ("missing value for 'credential.helper'", exit 128) before it runs any
   * helper. Any variable counts, not only helper and useHttpPath.
   */
  withoutValue: ConfigEntry[];
  /** The same, for some requests only (a user name or path in the key). */
  withoutValueForSome: ConfigEntry[];
}

/** `credential.<url>.<variable>` taken apart as git does: the URL ends at the last dot. */
function splitKey(name: string): { url: string | undefined; variable: string } {
  const key = name.slice('credential.'.length);
  const dot = key.lastIndexOf('.');
  return dot === -1
    ? { url: undefined, variable: key }
    : { url: key.slice(0, dot), variable: key.slice(dot + 1) };
}

export function helperChain(
  entries: readonly ConfigEntry[],
  context: CredentialContext,
  isBroker: (value: string) => boolean,
): HelperChain {
  let chain: ConfigEntry[] = [];
  let droppedBy: ConfigEntry | undefined;
  let useHttpPath: ConfigEntry | undefined;
  const afterForSome: ConfigEntry[] = [];
  const withoutValue: ConfigEntry[] = [];
  const withoutValueForSome: ConfigEntry[] = [];
  const brokerInChain = (): boolean => chain.some((entry) => isBroker(entry.value ?? ''));

  for (const entry of entries) {
    if (!entry.name.startsWith('credential.')) continue;
    const { url, variable } = splitKey(entry.name);
    const match = url === undefined ? 'all' : matchCredentialUrl(url, context);
    if (match === 'none') continue;
    if (entry.value === undefined) {
      (match === 'all' ? withoutValue : withoutValueForSome).push(entry);
      continue;
    }
    if (variable !== 'helper' && variable !== 'usehttppath') continue;

    if (match === 'some') {
      if (variable === 'helper' && entry.value && brokerInChain()) afterForSome.push(entry);
    } else if (variable === 'usehttppath') {
      useHttpPath = entry;
    } else if (entry.value === '') {
      if (brokerInChain()) droppedBy = entry;
      chain = [];
    } else {
      chain.push(entry);
    }
  }

  const broker = chain.findIndex((entry) => isBroker(entry.value ?? ''));
  return {
    brokerRuns: broker !== -1,
    droppedBy: broker === -1 ? droppedBy : undefined,
    // A second broker entry after the first is only asked when the first gave nothing.
    after: chain.slice(broker + 1).filter((entry) => !isBroker(entry.value ?? '')),
    afterForSome,
    useHttpPath,
    withoutValue,
    withoutValueForSome,
  };
}

/**
 * How a helper of the user's is named in output: its name at most, never
 * its arguments or a shell command's text, either of which may hold a
 * secret (`!GH_TOKEN=... gh auth git-credential`).
 */
export function describeHelper(value: string): string {
  if (value.trimStart().startsWith('!')) return 'a shell command (!...)';
  const name = value.trim().split(/\s+/)[0] ?? '';
  return /^[A-Za-z0-9._/-]{1,80}$/.test(name) ? `'${name}'` : 'a helper';
}

/**
 * Where an entry was read: scope and file. Never the key, whose URL may
 * hold a user name and password.
 */
function where(entry: ConfigEntry): string {
  const origin = entry.origin.startsWith('file:')
    ? `'${printable(entry.origin.slice('file:'.length), 300)}'`
    : entry.origin === 'command line:'
      ? 'the command line'
      : printable(entry.origin, 300);
  return `${entry.scope} config, ${origin}`;
}

/**
 * A credential URL as it may be printed: everything before its last `@` left
 * out, but a scheme or leading slashes. A user name and password can be
 * spelled many ways (`//bob:pw@host`, which git reads as a path, a password
 * holding `/` or `@`), and none of them may reach the output.
 */
function withoutUserinfo(url: string): string {
  const at = url.lastIndexOf('@');
  if (at === -1) return url;
  const kept = /^(?:[A-Za-z][A-Za-z0-9+.-]*:\/\/|\/*)/.exec(url)![0];
  return `${kept}...${url.slice(at)}`;
}

/**
 * An entry without a value as the user finds it in the file: its variable
 * under its section (`'helper' without a value under [credential]`).
 */
function withoutValueEntry(entry: ConfigEntry): string {
  const { url, variable } = splitKey(entry.name);
  const section =
    url === undefined ? '[credential]' : `[credential "${printable(withoutUserinfo(url), 200)}"]`;
  return `'${printable(variable, 80)}' without a value under ${section} (${where(entry)})`;
}

/** How to give an entry a value, for the variables configure knows. */
const VALUE_EXAMPLES: Record<string, string> = {
  helper: " ('helper = NAME', or an empty 'helper =' that clears the helpers read before it)",
  usehttppath: " ('useHttpPath = true')",
};

/**
 * The entries without a value that stop git for `url` (what), and how to
 * fix them (fix); undefined when there are none. `ignore` leaves out
 * entries the caller is about to replace.
 */
export function withoutValueProblem(
  chain: HelperChain,
  url: string,
  ignore: (entry: ConfigEntry) => boolean = () => false,
): { what: string; fix: string } | undefined {
  const all = chain.withoutValue.filter((entry) => !ignore(entry));
  const some = chain.withoutValueForSome.filter((entry) => !ignore(entry));
  const entries = [...all, ...some];
  const first = entries[0];
  if (first === undefined) return undefined;

  const requests =
    all.length > 0
      ? `every credential request for ${url} fails there`
      : `credential requests for some repositories or user names on ${url} fail there`;
  const variables = new Set(entries.map((entry) => splitKey(entry.name).variable));
  const example = variables.size === 1 ? (VALUE_EXAMPLES[[...variables][0]!] ?? '') : '';
  return {
    what: `git stops at ${entries.map(withoutValueEntry).join(', ')}: ${requests} ("missing value for 'credential.${printable(splitKey(first.name).variable, 80)}'") before any helper runs, the broker included`,
    fix:
      entries.length === 1
        ? `remove that line, or give it a value${example}`
        : `remove those lines, or give each a value${example}`,
  };
}

function listed(entries: ConfigEntry[]): string {
  return entries
    .map((entry) => `${describeHelper(entry.value ?? '')} (${where(entry)})`)
    .join(', ');
}

/**
 * What keeps git from running the broker alone, with useHttpPath on, for
 * `url`: one clause each, its fix included, to follow "but"; empty when
 * nothing does. Every helper after the broker counts, not only the known
 * storing ones: git hands each the broker's tokens with `store` after every
 * request that succeeds, and what a helper does with them cannot be told
 * from its name.
 */
export function chainProblems(chain: HelperChain, url: string): string[] {
  const problems: string[] = [];
  const withoutValue = withoutValueProblem(chain, url);
  if (withoutValue !== undefined) problems.push(`${withoutValue.what}; ${withoutValue.fix}`);
  if (!chain.brokerRuns) {
    problems.push(
      chain.droppedBy === undefined
        ? `git does not run the broker for ${url}`
        : `git does not run the broker for ${url}: an empty credential helper entry read after it (${where(chain.droppedBy)}) clears it; remove that entry`,
    );
  }
  if (chain.after.length > 0) {
    problems.push(
      `git still runs other helpers after the broker for ${url}, and hands each of them every token the broker serves, to store ('store' after each request that succeeds): ${listed(chain.after)}; remove them, limit them to other hosts, or have the broker's entries read after them (for a helper in the same file, 'configure --unset' then 'configure' writes them again at its end, where their empty 'helper =' entry clears every helper read before it); 'git config --show-origin --get-regexp credential.*helper' lists every helper in the order git reads them`,
    );
  }
  if (chain.afterForSome.length > 0) {
    problems.push(
      `for some repositories or user names on ${url}, git also runs helpers after the broker, and hands each of them those tokens, to store: ${listed(chain.afterForSome)}; remove them, or limit them to other hosts`,
    );
  }
  if (chain.useHttpPath !== undefined && gitBoolean(chain.useHttpPath.value) !== true) {
    problems.push(
      `a useHttpPath entry read last (${where(chain.useHttpPath)}) leaves it off for ${url}, so git sends no repository path and the broker refuses; remove that entry`,
    );
  }
  return problems;
}
