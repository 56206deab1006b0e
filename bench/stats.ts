/** Summaries of latency samples and the rows every benchmark reports. */

/** The q-th quantile (0..1) of samples, nearest rank. */
export function quantile(samples: readonly number[], q: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

export function median(samples: readonly number[]): number {
  return quantile(samples, 0.5);
}

/** One line of the results table: ours against a reference measured in the same run. */
export interface Row {
  benchmark: string;
  ours: string;
  reference: string;
  /** ours / reference, as the target states it. */
  ratio: string;
  target: string;
  met: boolean | undefined;
}

export function fixed(value: number, digits = 2): string {
  return Number.isFinite(value) ? value.toFixed(digits) : 'n/a';
}

/** Prints rows as a Markdown table, the form the README keeps. */
export function formatTable(rows: readonly Row[]): string {
  const header = ['benchmark', 'ours', 'reference', 'ratio', 'target', 'met'];
  const lines = rows.map((row) => [
    row.benchmark,
    row.ours,
    row.reference,
    row.ratio,
    row.target,
    row.met === undefined ? '' : row.met ? 'yes' : 'NO',
  ]);
  const widths = header.map((name, i) =>
    Math.max(name.length, ...lines.map((line) => line[i]!.length)),
  );
  const format = (cells: string[]): string =>
    `| ${cells.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ')} |`;
  return [
    format(header),
    format(widths.map((width) => '-'.repeat(width))),
    ...lines.map(format),
  ].join('\n');
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
