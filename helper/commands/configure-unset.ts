/**
 * `configure --unset`: takes back what configure wrote for a host, and only
 * that, so the user's own helpers for it are in effect again. An entry
 * without a value, at which git stops before it runs any helper, is taken
 * out only where it stands for the broker's reset; any other is named, with
 * its fix, since whether it lost a helper's name or meant a reset only its
 * owner knows.
 */
import { withoutValueProblem } from './chain-problems.js';
import type { ConfigureResult } from './configure.js';
import type { ScopeConfig } from './git-config-scope.js';
import type { HelperChain } from './helper-chain.js';
import type { HelperEntries } from './helper-entries.js';

/** What still stops git for the host, once the broker's entries are gone: a warning, not a failure. */
async function stillStopped(
  readChain: () => Promise<HelperChain>,
  url: string,
): Promise<{ warnings: string[]; everyRequest: boolean }> {
  const chain = await readChain();
  const stopped = withoutValueProblem(chain, url, { broker: false });
  return {
    warnings: stopped === undefined ? [] : [`${stopped.what}; ${stopped.fix}`],
    everyRequest: chain.withoutValue.length > 0,
  };
}

export async function unsetBroker(
  config: ScopeConfig,
  entries: HelperEntries,
  url: string,
  pathKey: string,
  readChain: () => Promise<HelperChain>,
): Promise<ConfigureResult> {
  const { key, ours, theirs } = entries;
  if (ours.size === 0) {
    return {
      lines: [`nothing to remove: no broker settings for ${url} (${config.flag})`],
      failure: undefined,
      warnings: (await stillStopped(readChain, url)).warnings,
    };
  }

  const file = await config.fileOf(key);
  await entries.removeOurs();
  // configure turned it on; a user who wants it can turn it on again.
  await config.run(['--unset-all', pathKey], true);
  const { warnings, everyRequest } = await stillStopped(readChain, url);

  const withoutValue = !entries.oursWithoutValue
    ? []
    : entries.keptWithoutValue
      ? [
          `left the ${key} entries without a value: one stands where the broker's reset was, but another is yours, and git config can remove them only all at once`,
        ]
      : [
          `the broker's reset entry had no value ('helper' with no '='), which git refuses: removed with the rest`,
        ];
  const lines = [
    `removed the broker's ${key} entries and ${pathKey} (${config.where(file)})`,
    ...withoutValue,
    ...(entries.keptEmpty && entries.empties.some((i) => ours.has(i))
      ? [
          `left the empty ${key} entries: one is yours, and git config cannot remove only the broker's; the last one still resets the helpers before it (remove it with 'git config ${config.flag} --edit' to bring them back)`,
        ]
      : // While git stops at an entry without a value, it runs none of them.
        theirs.length > 0 && !everyRequest
        ? [`your ${key} entries are in effect again: ${entries.theirNames}`]
        : []),
  ];
  return { lines, failure: undefined, warnings };
}
