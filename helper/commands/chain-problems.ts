/**
 * What configure says about the helper chain git runs for a host: each
 * thing that keeps the broker from running alone, with useHttpPath on, and
 * its fix. Entries are named by section and file, and helpers by name at
 * most: never a helper's arguments, nor a user name or password from a key.
 */
import { printable } from '../../shared/printable.js';
import { keyScope, type CredentialContext } from './credential-url-match.js';
import { gitBoolean } from './git-boolean.js';
import { splitKey, type ConfigEntry, type HelperChain } from './helper-chain.js';

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
  const { variable } = splitKey(entry.name);
  return `'${printable(variable, 80)}' without a value under ${sectionOf(entry)} (${where(entry)})`;
}

/** An entry's section as the user finds it in the file, a user name and password left out. */
function sectionOf(entry: ConfigEntry): string {
  const { url } = splitKey(entry.name);
  return url === undefined
    ? '[credential]'
    : `[credential "${printable(withoutUserinfo(url), 200)}"]`;
}

/** Entries named by section and file: `[credential "https://github.com/acme"] (global config, '...')`. */
function placed(entries: ConfigEntry[]): string {
  return entries.map((entry) => `${sectionOf(entry)} (${where(entry)})`).join(', ');
}

/** How to give an entry a value, for the variables configure knows. */
const VALUE_EXAMPLES: Record<string, string> = {
  helper: " ('helper = NAME', or an empty 'helper =' that clears the helpers read before it)",
  usehttppath: " ('useHttpPath = true')",
};

export interface WithoutValueOptions {
  /** Leaves out entries the caller is about to replace. */
  ignore?: (entry: ConfigEntry) => boolean;
  /** False once the broker's entries are gone (--unset): no "the broker included". */
  broker?: boolean;
}

/**
 * Which requests an entry for some requests only applies to, in words
 * that print nothing from its key: `for the repositories under its path`.
 */
function requestsOf(entry: ConfigEntry, context: CredentialContext): string {
  const { url } = splitKey(entry.name);
  const { username, path, host } = keyScope(url ?? '', context);
  const where =
    path === 'exact'
      ? 'to the one repository path it names'
      : path === 'prefix'
        ? 'under its path'
        : undefined;
  if (username) return `requests with its user name${where === undefined ? '' : `, ${where},`}`;
  const spelled = host ? ' on the host spelled as it is' : '';
  if (path === 'exact') return `the one repository path it names${spelled}`;
  if (path === 'prefix') return `the repositories under its path${spelled}`;
  return host ? 'remotes that spell the host as it does' : 'some requests';
}

/**
 * The entries without a value that stop git for `url` (what), and how to
 * fix them (fix); undefined when there are none. `forSomeOnly`: every one
 * is in an entry for other paths or user names of the host, so git goes on
 * with the host's other requests.
 */
export function withoutValueProblem(
  chain: HelperChain,
  url: string,
  { ignore = () => false, broker = true }: WithoutValueOptions = {},
): { what: string; fix: string; forSomeOnly: boolean } | undefined {
  const all = chain.withoutValue.filter((entry) => !ignore(entry));
  const some = chain.withoutValueForSome.filter((entry) => !ignore(entry));
  const entries = [...all, ...some];
  const first = entries[0];
  if (first === undefined) return undefined;

  const named = [
    ...all.map(withoutValueEntry),
    ...some.map(
      (entry) =>
        `${withoutValueEntry(entry)}, an entry for ${requestsOf(entry, chain.context)} only`,
    ),
  ];
  const missing = `("missing value for 'credential.${printable(splitKey(first.name).variable, 80)}'") before any helper runs${broker ? ', the broker included' : ''}`;
  const requests =
    all.length > 0
      ? `every credential request for ${url} fails there ${missing}`
      : `git fails ${some.length === 1 ? 'those requests' : 'the requests they are for'} there ${missing}, and goes on with ${url}'s others`;
  const variables = new Set(entries.map((entry) => splitKey(entry.name).variable));
  const example = variables.size === 1 ? (VALUE_EXAMPLES[[...variables][0]!] ?? '') : '';
  return {
    what: `git stops at ${named.join(', ')}: ${requests}`,
    fix:
      entries.length === 1
        ? `remove that line, or give it a value${example}`
        : `remove those lines, or give each a value${example}`,
    forSomeOnly: all.length === 0,
  };
}

/** The requests the problems for some only are about, a key's user name or path not printed. */
function forSome(url: string): string {
  return `for some repositories or user names on ${url}, or remotes that spell its host another way`;
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
      `${forSome(url)}, git also runs helpers after the broker, and hands each of them those tokens, to store: ${listed(chain.afterForSome)}; remove them, or limit them to other hosts`,
    );
  }
  if (chain.droppedForSome.length > 0) {
    const one = chain.droppedForSome.length === 1;
    problems.push(
      `${forSome(url)}, git does not run the broker: ${one ? "an empty 'helper =' entry" : "empty 'helper =' entries"} read after it clear${one ? 's' : ''} it, under ${placed(chain.droppedForSome)}; remove ${one ? 'that entry' : 'those entries'}, or have ${one ? 'it' : 'them'} read before the broker's entries`,
    );
  }
  if (chain.pathOffForSome.length > 0) {
    const one = chain.pathOffForSome.length === 1;
    problems.push(
      `${forSome(url)}, ${one ? 'a useHttpPath entry' : 'useHttpPath entries'} read last, under ${placed(chain.pathOffForSome)}, leave${one ? 's' : ''} it off, so git sends no repository path and the broker refuses them; remove ${one ? 'that entry' : 'those entries'}`,
    );
  }
  if (chain.useHttpPath !== undefined && gitBoolean(chain.useHttpPath.value) !== true) {
    problems.push(
      `a useHttpPath entry read last (${where(chain.useHttpPath)}) leaves it off for ${url}, so git sends no repository path and the broker refuses; remove that entry`,
    );
  }
  return problems;
}
