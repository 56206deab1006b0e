/**
 * The `github-app` provider kind: its config keys and how to build it.
 *
 *   {
 *     "provider": "github-app",
 *     "host": "github.com",
 *     "appId": 123456,                  // or the App's client ID, "Iv23..."
 *     "privateKeyPath": "app.pem",      // relative to the config file, or
 *     "privateKeyEnv": "GITHUB_APP_PRIVATE_KEY",  // the PEM in this variable
 *     "apiBaseUrl": "https://api.github.com",
 *     "permissions": { "contents": "write" },
 *     "owners": ["acme"]                // optional allow-list of accounts
 *   }
 */
import type { Permissions } from '../../shared/protocol.js';
import { describe, type ConfigFields } from '../config-fields.js';
import { resolveFrom } from '../config.js';
import { isLoopbackHost } from '../../shared/hosts.js';
import { DEFAULT_API_BASE_URL } from './github-api.js';
import { GitHubAppProvider } from './github-app.js';
import type { ProviderKind } from './index.js';
import { keyFileWarning, loadPrivateKey, loadPrivateKeyFromEnv } from './private-key.js';
import type { RetryPolicy } from './github-retry.js';
import { resolveProxyRoute, type ProxyRoute } from './proxy-env.js';

/**
 * Read and write of repository contents: the least a token needs for both
 * `git fetch` and `git push`. Narrow it to read-only where nothing pushes.
 */
export const DEFAULT_PERMISSIONS: Permissions = { contents: 'write' };

export interface GitHubAppOptions {
  appId: string;
  /** Where the key came from, for messages: its path, or `$VARIABLE`. */
  privateKeyPath: string;
  /** Set when the key file is open to other users; logged at start. */
  privateKeyWarning?: string;
  /** PKCS#8 PEM, loaded at startup so a bad key fails the start, not a clone. */
  privateKeyPem: string;
  apiBaseUrl: string;
  permissions: Permissions;
  /**
   * Where the config sets `permissions`, for errors: `"permissions" of
   * integration "github" (host github.com) in the broker config`. Set when
   * the provider is made, not read from the file.
   */
  permissionsKey?: string;
  /** Lowercase account names tokens may be minted for; undefined allows any. */
  owners?: string[];
  /** Overrides of the GitHub call policy (timeout, attempts); see github-retry.ts. */
  retry?: Partial<RetryPolicy>;
  /** The proxy calls to apiBaseUrl go through, from the daemon's environment; absent: none. */
  proxy?: ProxyRoute;
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
  const host = String(fields.object.host ?? '').toLowerCase();
  const given = fields.optionalString('apiBaseUrl');
  // Only github.com's API lives elsewhere by default; guessing for any other
  // host would send the App's JWT to a server nobody configured.
  if (given === undefined && host !== 'github.com') {
    fields.fail(
      'apiBaseUrl',
      `is required for host '${host}'; for GitHub Enterprise Server use "${isLoopbackHost(host) ? 'http' : 'https'}://${host}/api/v3"`,
    );
  }
  const raw = given ?? DEFAULT_API_BASE_URL;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return fields.fail(
      'apiBaseUrl',
      `must be a URL such as "${DEFAULT_API_BASE_URL}" or "https://HOST/api/v3", got ${describe(raw)}`,
    );
  }
  if (url.username !== '' || url.password !== '') {
    // Not quoted: it may be a password. Fetch refused such URLs too.
    fields.fail(
      'apiBaseUrl',
      'must not hold a user name or password; the broker signs in to GitHub with the App key',
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

type KeyOptions = Pick<GitHubAppOptions, 'privateKeyPath' | 'privateKeyPem' | 'privateKeyWarning'>;

async function parsePrivateKey(
  fields: ConfigFields,
  configFile: string,
  env: Record<string, string | undefined>,
): Promise<KeyOptions> {
  const variable = fields.optionalString('privateKeyEnv');
  if (variable !== undefined) {
    if (fields.object.privateKeyPath !== undefined) {
      fields.fail('privateKeyEnv', 'and privateKeyPath are both set; keep one');
    }
    return {
      privateKeyPath: `$${variable}`,
      privateKeyPem: loadPrivateKeyFromEnv(variable, env, fields.key('privateKeyEnv')),
    };
  }
  const path = resolveFrom(
    configFile,
    fields.string('privateKeyPath', '"/etc/git-credential-broker/app.pem" (or set privateKeyEnv)'),
  );
  const options: KeyOptions = {
    privateKeyPath: path,
    privateKeyPem: await loadPrivateKey(path, fields.key('privateKeyPath')),
  };
  const warning = await keyFileWarning(path);
  if (warning !== undefined) options.privateKeyWarning = warning;
  return options;
}

function parseOwners(fields: ConfigFields): string[] | undefined {
  const value = fields.object.owners;
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length === 0) {
    return fields.fail(
      'owners',
      `must be a non-empty array of account names, got ${describe(value)}`,
    );
  }
  return value.map((owner: unknown, index) => {
    if (typeof owner !== 'string' || !/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/.test(owner)) {
      fields.fail(`owners[${index}]`, `must be a GitHub account name, got ${describe(owner)}`);
    }
    return owner.toLowerCase();
  });
}

export const githubAppKind: ProviderKind = {
  optionKeys: [
    'appId',
    'privateKeyPath',
    'privateKeyEnv',
    'apiBaseUrl',
    'permissions',
    'owners',
    'requestTimeoutSeconds',
    'maxAttempts',
  ],

  async parseOptions(fields, configFile, env = {}): Promise<GitHubAppOptions> {
    const appId = parseAppId(fields);
    const apiBaseUrl = parseApiBaseUrl(fields);
    const options: GitHubAppOptions = {
      appId,
      ...(await parsePrivateKey(fields, configFile, env)),
      apiBaseUrl,
      permissions: fields.optionalPermissions('permissions') ?? { ...DEFAULT_PERMISSIONS },
      // Read with the config, so a proxy URL the broker cannot use fails the
      // start (or the reload), not the first clone.
      proxy: resolveProxyRoute(new URL(apiBaseUrl), env),
    };
    const owners = parseOwners(fields);
    if (owners !== undefined) options.owners = owners;
    const retry: Partial<RetryPolicy> = {};
    const timeoutSeconds = fields.optionalPositiveInteger('requestTimeoutSeconds');
    if (timeoutSeconds !== undefined) retry.attemptTimeoutMs = timeoutSeconds * 1000;
    const maxAttempts = fields.optionalPositiveInteger('maxAttempts');
    if (maxAttempts !== undefined) retry.maxAttempts = maxAttempts;
    options.retry = retry;
    return options;
  },

  create(integration, deps) {
    const options = integration.options as GitHubAppOptions;
    if (options.privateKeyWarning !== undefined) deps.log.warn(options.privateKeyWarning);
    const permissionsKey = `"permissions" of integration "${integration.name}" (host ${integration.host}) in the broker config`;
    return new GitHubAppProvider({ ...options, permissionsKey }, deps);
  },
};
