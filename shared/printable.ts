/**
 * What must not reach a terminal from text someone else wrote: C0 and C1
 * controls and DEL (escape sequences, bells, carriage returns, newlines
 * that would forge a line of output), the Unicode line and paragraph
 * separators, the bidirectional marks, overrides and isolates (U+061C
 * among them), which make a line read in another order than it is
 * written, and the invisible ones (zero-width space, joiners, word joiner,
 * byte order mark), which make two different strings look the same.
 */
const UNPRINTABLE =
  // eslint-disable-next-line no-control-regex -- control characters are what this matches
  /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060\u2066-\u2069\ufeff]/g;

/** Whether `text` holds a character printable() would replace. */
export function hasUnprintable(text: string): boolean {
  UNPRINTABLE.lastIndex = 0;
  return UNPRINTABLE.test(text);
}

/**
 * Makes text from the network or from git safe to print on a terminal or in
 * a log: the characters above become '?', and GitHub-token-shaped values
 * are replaced. A path or a server's message must not be able to rewrite
 * the user's screen. The one rule for everything the helper prints that a
 * daemon, git or a server supplied.
 */
export function printable(text: string, maxLength = 500): string {
  // Tokens out before the cut: a token cut short is too short to recognize.
  const clean = withoutTokens(text).replace(UNPRINTABLE, '?');
  return clean.length > maxLength ? `${clean.slice(0, maxLength)}…` : clean;
}

/**
 * GitHub's token formats (ghp_, gho_, ghu_, ghs_, ghr_, github_pat_): made
 * recognizable on purpose, so that text can be scanned for them.
 */
const TOKEN_SHAPED = /(?:gh[pousr]|github_pat)_[A-Za-z0-9_]{20,}/gi;

/**
 * Text a client sent (a path, a working directory), with anything shaped
 * like a GitHub token replaced: a client may put one where a path goes, and
 * the logs that quote it must not then hold a token.
 */
export function withoutTokens(text: string): string {
  // test() first: most text holds none, and then nothing is copied.
  TOKEN_SHAPED.lastIndex = 0;
  if (!TOKEN_SHAPED.test(text)) return text;
  return text.replace(TOKEN_SHAPED, '[token removed]');
}

/** Quotes a word for a POSIX shell (the one git runs helpers through, or a user pasting). */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Deeper than any value this product sends: nothing real is cut. */
const MAX_JSON_DEPTH = 64;

/**
 * JSON-parsed `value` with whatever lies more than `depth` levels down
 * replaced by a note. JSON.stringify recurses, so a reply nested 200,000
 * deep (from a fake daemon: JSON.parse takes it) overflowed the stack and
 * crashed \`status --json\` (found in review).
 */
function withinDepth(value: unknown, depth: number, text: (text: string) => string): unknown {
  if (typeof value === 'string') return text(value);
  if (typeof value !== 'object' || value === null) return value;
  if (depth === 0) return '[nested too deep; not shown]';
  if (Array.isArray(value)) return value.map((item) => withinDepth(item, depth - 1, text));
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    // Defined, not assigned: `copy['__proto__'] = x` sets the prototype and
    // the key vanished from the output (found in review).
    Object.defineProperty(copy, text(key), {
      value: withinDepth(item, depth - 1, text),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return copy;
}

/**
 * `value` as indented JSON that a terminal cannot act on either: JSON
 * escapes only C0 controls, so DEL, C1 controls, the line separators and
 * bidirectional controls a daemon sent would otherwise reach the screen
 * raw. They are written as \u escapes: the same JSON value, parsed.
 * `redactTokens` replaces token-shaped text in keys and strings, as
 * printable() does for text output (`status --json`; not `token --json`,
 * whose token is the point).
 */
export function terminalJson(value: unknown, options: { redactTokens?: boolean } = {}): string {
  const text = options.redactTokens === true ? withoutTokens : (string: string) => string;
  // UNPRINTABLE without C0: JSON has escaped those, and its own line breaks are ours.
  return JSON.stringify(withinDepth(value, MAX_JSON_DEPTH, text), null, 2).replace(
    /[\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060\u2066-\u2069\ufeff]/g,
    (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
