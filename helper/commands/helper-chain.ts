/**
 * The credential helpers git runs for a host, worked out the way git does:
 * every `credential.helper` and `credential.<url>.helper` entry that applies
 * to the host, in the order git reads its config files (system, global,
 * repository, command line), an empty value clearing the list so far; and
 * `useHttpPath` as the last entry that applies sets it. Any `credential.*`
 * entry without a value that applies stops git before it runs a helper.
 * An entry whose key names a user or path, or spells the host otherwise
 * (`GitHub.com`, a partial URL), applies to some requests only: each such
 * key is followed through the requests it names.
 */
import { gitBoolean } from './git-boolean.js';
import {
  appliesToRequest,
  matchCredentialUrl,
  requestNamedBy,
  type CredentialContext,
} from './credential-url-match.js';

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
  /** The host it was worked out for. */
  context: CredentialContext;
  /** True when git runs a broker helper for every repository on the host. */
  brokerRuns: boolean;
  /** The empty entry that cleared the broker from the list, when one did. */
  droppedBy: ConfigEntry | undefined;
  /** Helpers git runs after the broker for every repository on the host. */
  after: ConfigEntry[];
  /** The useHttpPath entry git goes by for the host, if any. */
  useHttpPath: ConfigEntry | undefined;
  /**
   * For some requests only (a user name, path or spelling of the host in
   * the key): the helpers
   * git runs after the broker, the empty entries that clear it, and the
   * useHttpPath entries it goes by that turn the path off.
   */
  afterForSome: ConfigEntry[];
  droppedForSome: ConfigEntry[];
  pathOffForSome: ConfigEntry[];
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
export function splitKey(name: string): { url: string | undefined; variable: string } {
  const key = name.slice('credential.'.length);
  const dot = key.lastIndexOf('.');
  return dot === -1
    ? { url: undefined, variable: key }
    : { url: key.slice(0, dot), variable: key.slice(dot + 1) };
}

/** A helper or useHttpPath entry with a value that git applies to the host. */
interface Setting {
  entry: ConfigEntry;
  url: string | undefined;
  forSome: boolean;
}

/** What git makes of `settings`, read in order, for one request. */
interface Walked {
  chain: ConfigEntry[];
  /** The broker's place in the chain, -1 when it is not there. */
  broker: number;
  droppedBy: ConfigEntry | undefined;
  useHttpPath: ConfigEntry | undefined;
}

function walk(settings: readonly Setting[], isBroker: (value: string) => boolean): Walked {
  let chain: ConfigEntry[] = [];
  let droppedBy: ConfigEntry | undefined;
  let useHttpPath: ConfigEntry | undefined;
  const brokerAt = (): number => chain.findIndex((entry) => isBroker(entry.value ?? ''));

  for (const { entry } of settings) {
    if (entry.name.endsWith('.usehttppath')) {
      useHttpPath = entry;
    } else if (entry.value === '') {
      if (brokerAt() !== -1) droppedBy = entry;
      chain = [];
    } else {
      chain.push(entry);
    }
  }
  const broker = brokerAt();
  return { chain, broker, droppedBy: broker === -1 ? droppedBy : undefined, useHttpPath };
}

/** The helpers after the broker: a second broker entry is only asked when the first gave nothing. */
function helpersAfter(walked: Walked, isBroker: (value: string) => boolean): ConfigEntry[] {
  return walked.chain.slice(walked.broker + 1).filter((entry) => !isBroker(entry.value ?? ''));
}

export function helperChain(
  entries: readonly ConfigEntry[],
  context: CredentialContext,
  isBroker: (value: string) => boolean,
): HelperChain {
  const settings: Setting[] = [];
  const withoutValue: ConfigEntry[] = [];
  const withoutValueForSome: ConfigEntry[] = [];
  for (const entry of entries) {
    if (!entry.name.startsWith('credential.')) continue;
    const { url, variable } = splitKey(entry.name);
    const match = url === undefined ? 'all' : matchCredentialUrl(url, context);
    if (match === 'none') continue;
    if (entry.value === undefined) {
      (match === 'all' ? withoutValue : withoutValueForSome).push(entry);
    } else if (variable === 'helper' || variable === 'usehttppath') {
      settings.push({ entry, url, forSome: match === 'some' });
    }
  }

  const all = walk(
    settings.filter((setting) => !setting.forSome),
    isBroker,
  );
  const after = helpersAfter(all, isBroker);
  const afterForSome = new Set<ConfigEntry>();
  const droppedForSome = new Set<ConfigEntry>();
  const pathOffForSome = new Set<ConfigEntry>();
  // Each key that names a user, a path or a spelling of the host names
  // requests git reads more entries for: each that applies to them, and
  // not every entry for the host as written does (a partial URL's host must
  // be spelled alike).
  const someUrls = new Set(settings.flatMap((setting) => (setting.forSome ? [setting.url!] : [])));
  for (const url of someUrls) {
    const request = requestNamedBy(url, context);
    const some = walk(
      settings.filter(({ url }) => url === undefined || appliesToRequest(url, request)),
      isBroker,
    );
    if (all.broker !== -1 && some.droppedBy !== undefined) droppedForSome.add(some.droppedBy);
    if (some.broker !== -1) {
      for (const entry of helpersAfter(some, isBroker)) {
        if (!after.includes(entry)) afterForSome.add(entry);
      }
    }
    if (some.useHttpPath !== all.useHttpPath && gitBoolean(some.useHttpPath?.value) !== true) {
      pathOffForSome.add(some.useHttpPath!);
    }
  }

  return {
    context,
    brokerRuns: all.broker !== -1,
    droppedBy: all.droppedBy,
    after,
    useHttpPath: all.useHttpPath,
    afterForSome: [...afterForSome],
    droppedForSome: [...droppedForSome],
    pathOffForSome: [...pathOffForSome],
    withoutValue,
    withoutValueForSome,
  };
}
