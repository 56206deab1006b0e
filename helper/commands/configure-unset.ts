/**
 * `configure --unset`: takes back what configure wrote for a host, and only
 * that, so the user's own helpers for it are in effect again.
 */
import type { ConfigureResult } from './configure.js';
import type { ScopeConfig } from './git-config-scope.js';
import type { HelperEntries } from './helper-entries.js';

export async function unsetBroker(
  config: ScopeConfig,
  entries: HelperEntries,
  url: string,
  pathKey: string,
): Promise<ConfigureResult> {
  const { key, ours, theirs } = entries;
  if (ours.size === 0) {
    return {
      lines: [`nothing to remove: no broker settings for ${url} (${config.flag})`],
      failure: undefined,
      warnings: [],
    };
  }

  const file = await config.fileOf(key);
  await entries.removeOurs();
  // configure turned it on; a user who wants it can turn it on again.
  await config.run(['--unset-all', pathKey], true);

  const lines = [
    `removed the broker's ${key} entries and ${pathKey} (${config.where(file)})`,
    ...(entries.keptEmpty && entries.empties.some((i) => ours.has(i))
      ? [
          `left the empty ${key} entries: one is yours, and git config cannot remove only the broker's; the last one still resets the helpers before it (remove it with 'git config ${config.flag} --edit' to bring them back)`,
        ]
      : theirs.length > 0
        ? [`your ${key} entries are in effect again: ${entries.theirNames}`]
        : []),
  ];
  return { lines, failure: undefined, warnings: [] };
}
