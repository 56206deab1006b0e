/**
 * "Did you mean ...?" for a mistyped command or config key: the known word
 * a slip of the keyboard most likely turned into this one, if any.
 */

/**
 * Edits between two words, a swap of neighbours counting as one (the
 * optimal string alignment distance): `stauts` is one edit from `status`.
 */
export function editDistance(a: string, b: string): number {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    rows.push([i]);
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        rows[i]![j] = j;
        continue;
      }
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, rows[i - 2]![j - 2]! + 1);
      }
      rows[i]![j] = best;
    }
  }
  return rows[a.length]![b.length]!;
}

/**
 * The candidate closest to `word`, when it is close enough to be what was
 * meant: one edit for a short word, two from six letters on, or a word
 * of three letters or more that makes up half of it or more, at its
 * start (`stat` for `status`). Ties go
 * to a candidate the word begins, then to the earlier candidate. Case is
 * ignored. Undefined when the word is a candidate, or nothing is that
 * close: a wild guess misleads.
 */
export function closestWord(word: string, candidates: readonly string[]): string | undefined {
  const typed = word.toLowerCase();
  const allowed = typed.length >= 6 ? 2 : 1;
  let best: { candidate: string; distance: number; prefix: boolean } | undefined;
  for (const candidate of candidates) {
    if (candidate === word) return undefined;
    // Both sides: config keys are camelCase (`privateKeyPth`).
    const lower = candidate.toLowerCase();
    // Half of it at least: `repo` is no guess at repository_custom_properties.
    const prefix = typed.length >= 3 && typed.length * 2 >= lower.length && lower.startsWith(typed);
    const distance = Math.min(editDistance(typed, lower), prefix ? 1 : Infinity);
    if (distance > allowed) continue;
    const better =
      best === undefined ||
      distance < best.distance ||
      (distance === best.distance && prefix && !best.prefix);
    if (better) best = { candidate, distance, prefix };
  }
  return best?.candidate;
}
