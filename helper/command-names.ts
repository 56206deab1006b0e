/**
 * The commands the broker answers to, in the order --help lists them. Here,
 * not in cli.ts, because the git path (bundled, without yargs) must tell a
 * mistyped command from an action git has added since this release.
 */
export const COMMAND_NAMES = [
  'daemon',
  'stop',
  'reload',
  'status',
  'configure',
  'token',
  'get',
  'store',
  'erase',
] as const;

/** Every word yargs takes as a command: ours, and its own `help`. */
export const COMMAND_WORD_LIST: readonly string[] = [...COMMAND_NAMES, 'help'];
export const COMMAND_WORDS: ReadonlySet<string> = new Set(COMMAND_WORD_LIST);
