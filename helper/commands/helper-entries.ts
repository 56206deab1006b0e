/**
 * The host's helper entries in the file configure edits: which are the
 * broker's (what configure wrote), which the user's, and the removal of the
 * broker's alone, one exact value at a time.
 */
import { brokerEntries, isBrokerCommand } from './broker-command.js';
import { describeHelper } from './chain-problems.js';
import { exactly, type ScopeConfig } from './git-config-scope.js';

export class HelperEntries {
  /** Indexes into `values` of the broker's entries. */
  readonly ours: Set<number>;
  /** How many of the broker's are in a form an older configure wrote. */
  readonly olderForms: number;
  /** The user's helpers (not their empty entries). */
  readonly theirs: string[];
  /** The user's helpers by name, never with their arguments: `'cache', 'store'`. */
  readonly theirNames: string;
  /** The empty entries, by index. */
  readonly empties: number[];
  /**
   * True when an empty entry is the user's own: git config removes entries
   * by value only, so beside it the broker's empty entry cannot be told
   * apart, and stays.
   */
  readonly keptEmpty: boolean;

  private constructor(
    private readonly config: ScopeConfig,
    readonly key: string,
    /** The key's values in the file, in order. */
    readonly values: string[],
  ) {
    this.ours = brokerEntries(values);
    this.olderForms = [...this.ours].filter(
      (i) => values[i] !== '' && !isBrokerCommand(values[i]!),
    ).length;
    this.theirs = values.filter((value, i) => !this.ours.has(i) && value !== '');
    this.theirNames = [...new Set(this.theirs.map(describeHelper))].join(', ');
    this.empties = values.flatMap((value, i) => (value === '' ? [i] : []));
    this.keptEmpty = this.empties.some((i) => !this.ours.has(i));
  }

  static async read(config: ScopeConfig, key: string): Promise<HelperEntries> {
    // NUL-separated: a helper value may itself hold newlines.
    const values = (await config.run(['-z', '--get-all', key], true)).split('\0').slice(0, -1);
    return new HelperEntries(config, key, values);
  }

  /**
   * Removes the broker's entries one exact value at a time, so that no
   * entry of the user's is ever removed and re-added (a failure in between
   * would lose it). Empty entries go only when every one is the broker's.
   */
  async removeOurs(): Promise<void> {
    for (const value of new Set([...this.ours].map((i) => this.values[i]!))) {
      if (value !== '') await this.config.run(['--unset-all', this.key, exactly(value)], true);
    }
    if (!this.keptEmpty) await this.config.run(['--unset-all', this.key, '^$'], true);
  }
}
