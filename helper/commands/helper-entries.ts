/**
 * The host's helper entries in the file configure edits: which are the
 * broker's (what configure wrote), which the user's, and the removal of the
 * broker's alone, one exact value at a time.
 */
import { brokerEntries, isBrokerCommand } from './broker-command.js';
import { describeHelper } from './chain-problems.js';
import { exactly, type ScopeConfig } from './git-config-scope.js';
import type { ConfigEntry } from './helper-chain.js';

export class HelperEntries {
  /** The key's values in the file, in order; '' for an entry without a value. */
  readonly values: string[];
  /** Indexes into `values` of the broker's entries. */
  readonly ours: Set<number>;
  /** How many of the broker's are in a form an older configure wrote. */
  readonly olderForms: number;
  /** The user's helpers (not their empty entries). */
  readonly theirs: string[];
  /** The user's helpers by name, never with their arguments: `'cache', 'store'`. */
  readonly theirNames: string;
  /** The empty entries (`helper =`), by index. */
  readonly empties: number[];
  /**
   * True when an empty entry is the user's own: git config removes entries
   * by value only, so beside it the broker's empty entry cannot be told
   * apart, and stays.
   */
  readonly keptEmpty: boolean;
  /**
   * The entries without a value (`helper`, no `=`), by index: git config
   * shows one as empty, and one just before the broker's command stands
   * where the broker's reset was, so it is taken for that.
   */
  readonly withoutValue: number[];
  /** True when one of them is the user's own: they too go all at once or not at all. */
  readonly keptWithoutValue: boolean;

  private constructor(
    private readonly config: ScopeConfig,
    readonly key: string,
    entries: ConfigEntry[],
  ) {
    this.values = entries.map((entry) => entry.value ?? '');
    const { values } = this;
    this.ours = brokerEntries(values);
    this.olderForms = [...this.ours].filter(
      (i) => values[i] !== '' && !isBrokerCommand(values[i]!),
    ).length;
    this.theirs = values.filter((value, i) => !this.ours.has(i) && value !== '');
    this.theirNames = [...new Set(this.theirs.map(describeHelper))].join(', ');
    this.withoutValue = entries.flatMap((entry, i) => (entry.value === undefined ? [i] : []));
    this.empties = entries.flatMap((entry, i) => (entry.value === '' ? [i] : []));
    this.keptEmpty = this.empties.some((i) => !this.ours.has(i));
    this.keptWithoutValue = this.withoutValue.some((i) => !this.ours.has(i));
  }

  static async read(config: ScopeConfig, key: string): Promise<HelperEntries> {
    return new HelperEntries(config, key, await config.entriesOf(key));
  }

  /** Whether one of the broker's entries is without a value (its reset, so written by hand). */
  get oursWithoutValue(): boolean {
    return this.withoutValue.some((i) => this.ours.has(i));
  }

  /**
   * Removes the broker's entries one exact value at a time, so that no
   * entry of the user's is ever removed and re-added (a failure in between
   * would lose it). Empty entries go only when every one is the broker's,
   * and so do entries without a value, which only a negated pattern
   * matches (`!.*`: no value at all).
   */
  async removeOurs(): Promise<void> {
    for (const value of new Set([...this.ours].map((i) => this.values[i]!))) {
      if (value !== '') await this.config.run(['--unset-all', this.key, exactly(value)], true);
    }
    if (!this.keptEmpty) await this.config.run(['--unset-all', this.key, '^$'], true);
    if (this.oursWithoutValue && !this.keptWithoutValue) {
      await this.config.run(['--unset-all', this.key, '!.*'], true);
    }
  }
}
