/**
 * Every provider kind the config may name. Adding an integration means a
 * provider module and one line here; the daemon's core does not change.
 */
import type { Logger } from 'pino';
import type { ConfigFields } from '../config-fields.js';
import type { IntegrationConfig } from '../config.js';
import type { CredentialProvider } from '../provider.js';
import type { ChildGroups } from './child-groups.js';
import { commandKind } from './command-kind.js';
import { githubAppKind } from './github-app-kind.js';

export interface ProviderDeps {
  log: Logger;
  now: () => number;
  /** The daemon's record of the processes providers start, killed when it stops. */
  children?: ChildGroups;
}

export interface ProviderKind {
  /** Config keys this kind reads beside the common ones. */
  optionKeys: readonly string[];
  /** Validates and loads this kind's options; throws ConfigError. */
  parseOptions(
    fields: ConfigFields,
    configFile: string,
    env?: Record<string, string | undefined>,
  ): Promise<unknown>;
  create(integration: IntegrationConfig, deps: ProviderDeps): CredentialProvider;
}

export const PROVIDER_KINDS: Readonly<Record<string, ProviderKind>> = {
  'github-app': githubAppKind,
  command: commandKind,
};
