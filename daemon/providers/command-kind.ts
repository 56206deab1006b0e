/**
 * The `command` provider kind: runs a program of the operator's and hands
 * git the secret it prints. For integrations the broker has no provider for.
 *
 *   {
 *     "provider": "command",
 *     "host": "git.example.com",
 *     "command": ["/usr/local/bin/mint-git-token", "--audience", "git"],
 *     "timeoutSeconds": 10,
 *     "username": "oauth2"
 *   }
 *
 * The program gets the request in its environment (see CommandProvider) and
 * prints one JSON object: { "secret": "...", "expiresAt": ISO 8601 or Unix
 * seconds, "username": optional }.
 */
import { describe, type ConfigFields } from '../config-fields.js';
import { resolveFrom } from '../config.js';
import { CommandProvider } from './command-provider.js';
import type { ProviderKind } from './index.js';

export const DEFAULT_COMMAND_TIMEOUT_SECONDS = 10;
export const DEFAULT_COMMAND_USERNAME = 'x-access-token';

export interface CommandOptions {
  /** Program and arguments; run without a shell. */
  argv: string[];
  timeoutMs: number;
  username: string;
  /** OUTPUT_DRAIN_MS unless given: a test makes it 0, the race at its worst. */
  outputDrainMs?: number;
}

function parseArgv(fields: ConfigFields, configFile: string): string[] {
  const value = fields.object.command;
  if (
    !Array.isArray(value) ||
    value.length === 0 ||
    !value.every((part) => typeof part === 'string' && part !== '')
  ) {
    return fields.fail(
      'command',
      `must be a non-empty array of strings (program, then arguments; no shell), got ${describe(value)}`,
    );
  }
  const [program, ...args] = value as string[];
  // A bare name is looked up on PATH; anything with a slash is a path.
  const resolved = program!.includes('/') ? resolveFrom(configFile, program!) : program!;
  return [resolved, ...args];
}

export const commandKind: ProviderKind = {
  optionKeys: ['command', 'timeoutSeconds', 'username'],

  async parseOptions(fields, configFile): Promise<CommandOptions> {
    return {
      argv: parseArgv(fields, configFile),
      timeoutMs:
        (fields.optionalPositiveInteger('timeoutSeconds') ?? DEFAULT_COMMAND_TIMEOUT_SECONDS) *
        1000,
      username: fields.optionalString('username') ?? DEFAULT_COMMAND_USERNAME,
    };
  },

  create(integration, deps) {
    return new CommandProvider(
      integration.name,
      integration.options as CommandOptions,
      deps.children,
    );
  },
};
