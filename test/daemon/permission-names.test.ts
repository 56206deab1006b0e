import type { components } from '@octokit/openapi-types';
import t from 'tap';
import {
  closestPermission,
  GITHUB_APP_PERMISSIONS,
  isKnownPermission,
} from '../../daemon/permission-names.js';

/**
 * Every name GitHub's REST description gives the token body's permissions.
 * A Record of that exact key type: when @octokit/openapi-types (updated with
 * @octokit/auth-app) gains or drops a name, this stops compiling, and the
 * list in daemon/permission-names.ts needs the same change.
 */
type Documented = keyof components['schemas']['app-permissions'];
const DOCUMENTED: Record<Documented, true> = {
  actions: true,
  administration: true,
  artifact_metadata: true,
  attestations: true,
  checks: true,
  code_quality: true,
  codespaces: true,
  contents: true,
  dependabot_secrets: true,
  deployments: true,
  discussions: true,
  environments: true,
  issues: true,
  merge_queues: true,
  metadata: true,
  packages: true,
  pages: true,
  pull_requests: true,
  repository_custom_properties: true,
  repository_hooks: true,
  repository_projects: true,
  secret_scanning_alerts: true,
  secrets: true,
  security_events: true,
  single_file: true,
  statuses: true,
  vulnerability_alerts: true,
  workflows: true,
  custom_properties_for_organizations: true,
  members: true,
  organization_administration: true,
  organization_custom_roles: true,
  organization_custom_org_roles: true,
  organization_custom_properties: true,
  organization_copilot_seat_management: true,
  organization_copilot_agent_settings: true,
  organization_announcement_banners: true,
  organization_events: true,
  organization_hooks: true,
  organization_personal_access_tokens: true,
  organization_personal_access_token_requests: true,
  organization_plan: true,
  organization_projects: true,
  organization_packages: true,
  organization_secrets: true,
  organization_self_hosted_runners: true,
  organization_user_blocking: true,
  email_addresses: true,
  followers: true,
  git_ssh_keys: true,
  gpg_keys: true,
  interaction_limits: true,
  profile: true,
  starring: true,
  enterprise_custom_properties_for_organizations: true,
};

t.test('knows every permission GitHub documents for App tokens, and no other', async (t) => {
  t.same([...GITHUB_APP_PERMISSIONS].sort(), Object.keys(DOCUMENTED).sort());
  t.ok(isKnownPermission('contents'));
  t.notOk(isKnownPermission('content'));
});

t.test('names the permission a typo most likely meant', async (t) => {
  t.equal(closestPermission('content'), 'contents');
  t.equal(closestPermission('pull_request'), 'pull_requests');
  t.equal(closestPermission('workflow'), 'workflows');
  t.equal(closestPermission('metdata'), 'metadata');
  t.equal(closestPermission('repo'), undefined, 'nothing close: no guess');
});
