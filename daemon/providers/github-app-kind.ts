/**
 * The `github-app` provider kind: its config keys and how to build it.
 *
 *   {
 *     "provider": "github-app",
 *     "host": "github.com",
 *     "appId": 123456,                  // or the App's client ID, "Iv23..."
 *     "privateKeyPath": "app.pem",      // relative to the config file
 *     "apiBaseUrl": "https://api.github.com",
 *     "permissions": { "contents": "write" }
 *   }
 */
import type { Permissions } from '../../shared/protocol.js';
import { describe, type ConfigFields } from '../config-fields.js';
import { resolveFrom } from '../config.js';
import { isLoopbackHost } from '../provider-registry.js';
import { GitHubAppProvider } from './github-app.js';
import type { ProviderKind } from './index.js';
import { loadPrivateKey } from './private-key.js';
import type { RetryPolicy } from './github-retry.js';

export const DEFAULT_API_BASE_URL = 'https://api.github.com';

/**
 * Read and write of repository contents: the least a token needs for both
 * `git fetch` and `git push`. Narrow it to read-only where nothing pushes.
 */
export const DEFAULT_PERMISSIONS: Permissions = { contents: 'write' };

export interface GitHubAppOptions {
  appId: string;
  privateKeyPath: string;
  /** PKCS#8 PEM, loaded at startup so a bad key fails the start, not a clone. */
  privateKeyPem: string;
  apiBaseUrl: string;
  permissions: Permissions;
  /** Overrides of the GitHub call policy (timeout, attempts); see github-retry.ts. */
  retry?: Partial<RetryPolicy>;
}

function parseAppId(fields: ConfigFields): string {
  const value = fields.object.appId;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) return String(value);
  if (typeof value === 'string' && /^([0-9]+|Iv[0-9A-Za-z.]+)$/.test(value)) return value;
  if (value === undefined) {
    fields.fail(
      'appId',
      'is required: the App ID (a number) or client ID ("Iv...") from the App\'s settings page',
    );
  }
  return fields.fail(
    'appId',
    `must be the App ID (a number) or client ID ("Iv..."), got ${describe(value)}`,
  );
}

function parseApiBaseUrl(fields: ConfigFields): string {
  const raw = fields.optionalString('apiBaseUrl') ?? DEFAULT_API_BASE_URL;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return fields.fail(
      'apiBaseUrl',
      `must be a URL such as "${DEFAULT_API_BASE_URL}" or "https://HOST/api/v3", got ${describe(raw)}`,
    );
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.host))) {
    fields.fail(
      'apiBaseUrl',
      `must use https (plain http only for loopback), got "${url.protocol}"`,
    );
  }
  return raw.replace(/\/+$/, '');
}

const LEVELS = ['read', 'write', 'admin'];

function parsePermissions(fields: ConfigFields): Permissions {
  const child = fields.child('permissions');
  if (child === undefined) return { ...DEFAULT_PERMISSIONS };
  const permissions: Permissions = {};
  for (const [name, level] of Object.entries(child.object)) {
    if (!/^[a-z_]+$/.test(name)) child.fail(name, 'is not a GitHub App permission name');
    if (typeof level !== 'string' || !LEVELS.includes(level)) {
      child.fail(name, `must be "read", "write" or "admin", got ${describe(level)}`);
    }
    permissions[name] = level as Permissions[string];
  }
  if (Object.keys(permissions).length === 0) {
    fields.fail(
      'permissions',
      'must name at least one permission, for example { "contents": "read" }',
    );
  }
  return permissions;
}

export const githubAppKind: ProviderKind = {
  optionKeys: [
    'appId',
    'privateKeyPath',
    'apiBaseUrl',
    'permissions',
    'requestTimeoutSeconds',
    'maxAttempts',
  ],

  async parseOptions(fields, configFile): Promise<GitHubAppOptions> {
    const appId = parseAppId(fields);
    const retry: Partial<RetryPolicy> = {};
    const timeoutS = fields.optionalPositiveInteger('requestTimeoutSeconds');
    if (timeoutS !== undefined) retry.attemptTimeoutMs = timeoutS * 1000;
    const maxAttempts = fields.optionalPositiveInteger('maxAttempts');
    if (maxAttempts !== undefined) retry.maxAttempts = maxAttempts;
    const privateKeyPath = resolveFrom(
      configFile,
      fields.string('privateKeyPath', '"/etc/git-credential-broker/app.pem"'),
    );
    return {
      appId,
      privateKeyPath,
      privateKeyPem: await loadPrivateKey(privateKeyPath, fields.key('privateKeyPath')),
      apiBaseUrl: parseApiBaseUrl(fields),
      permissions: parsePermissions(fields),
      retry,
    };
  },

  create(integration, deps) {
    return new GitHubAppProvider(integration.options as GitHubAppOptions, deps);
  },
};
