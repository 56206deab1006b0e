/**
 * The Examples section of a command's --help: each command on a line of its
 * own, what it does indented below it. yargs' own examples put the
 * description in a column beside the command and cap the command's column
 * at half the width: with a 22-character program name, every example with
 * an option broke in the middle of its command line at 80 columns. An
 * epilog keeps the lines as written; each must fit in 80 columns.
 */
export function examples(entries: [command: string, description: string][]): string {
  const lines = entries.flatMap(([command, description]) => [
    `  ${command}`,
    `      ${description}`,
  ]);
  return ['Examples:', ...lines].join('\n');
}
