/**
 * Makes text from the network or from git safe to print on a terminal or in
 * a log: control characters (escape sequences, bells, carriage returns)
 * become '?', and GitHub-token-shaped values are replaced. A path or a
 * server's message must not be able to rewrite the user's screen.
 */
export function printable(text: string, maxLength = 500): string {
  // Tokens out before the cut: a token cut short is too short to recognize.
  // eslint-disable-next-line no-control-regex -- control characters are what this removes
  const clean = withoutTokens(text).replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
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
