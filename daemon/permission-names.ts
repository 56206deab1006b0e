/**
 * The permission names GitHub documents for installation access tokens,
 * and what to say about a name it does not. GitHub adds names over time, so
 * an unknown name is warned about, never refused: a name newer than this
 * list is right, a typo (`content` for `contents`) only fails at mint time
 * with GitHub's 422, which does not say which name it did not like.
 */
import { closestWord } from '../shared/closest-word.js';

/**
 * The `app-permissions` schema of GitHub's REST description (the body of
 * `POST /app/installations/{installation_id}/access_tokens`), as
 * @octokit/openapi-types 29.0.1 has it; a test fails when that package
 * (kept current by @octokit/auth-app) lists a name this does not.
 */
export const GITHUB_APP_PERMISSIONS: readonly string[] = [
  // Repository permissions.
  'actions',
  'administration',
  'artifact_metadata',
  'attestations',
  'checks',
  'code_quality',
  'codespaces',
  'contents',
  'dependabot_secrets',
  'deployments',
  'discussions',
  'environments',
  'issues',
  'merge_queues',
  'metadata',
  'packages',
  'pages',
  'pull_requests',
  'repository_custom_properties',
  'repository_hooks',
  'repository_projects',
  'secret_scanning_alerts',
  'secrets',
  'security_events',
  'single_file',
  'statuses',
  'vulnerability_alerts',
  'workflows',
  // Organization permissions.
  'custom_properties_for_organizations',
  'members',
  'organization_administration',
  'organization_custom_roles',
  'organization_custom_org_roles',
  'organization_custom_properties',
  'organization_copilot_seat_management',
  'organization_copilot_agent_settings',
  'organization_announcement_banners',
  'organization_events',
  'organization_hooks',
  'organization_personal_access_tokens',
  'organization_personal_access_token_requests',
  'organization_plan',
  'organization_projects',
  'organization_packages',
  'organization_secrets',
  'organization_self_hosted_runners',
  'organization_user_blocking',
  // User permissions.
  'email_addresses',
  'followers',
  'git_ssh_keys',
  'gpg_keys',
  'interaction_limits',
  'profile',
  'starring',
  // Enterprise permissions.
  'enterprise_custom_properties_for_organizations',
];

const KNOWN: ReadonlySet<string> = new Set(GITHUB_APP_PERMISSIONS);

export function isKnownPermission(name: string): boolean {
  return KNOWN.has(name);
}

/** The documented name `name` most likely stands for; undefined when none is close. */
export function closestPermission(name: string): string | undefined {
  return closestWord(name, GITHUB_APP_PERMISSIONS);
}
