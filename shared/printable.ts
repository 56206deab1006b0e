/**
 * Makes text from the network or from git safe to print on a terminal:
 * control characters (escape sequences, bells, carriage returns) become '?'.
 * A path or a server's message must not be able to rewrite the user's screen.
 */
export function printable(text: string, maxLength = 500): string {
  // eslint-disable-next-line no-control-regex -- control characters are what this removes
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
  return clean.length > maxLength ? `${clean.slice(0, maxLength)}…` : clean;
}
