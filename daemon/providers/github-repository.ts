/**
 * Maps the path git sends to one GitHub repository. The same repository
 * written differently (case, `.git`, surrounding slashes) maps to the same
 * normalized key.
 */
import { RequestDeniedError } from '../../shared/errors.js';
import { stripGitSuffixes, trimSlashes } from '../../shared/paths-text.js';
import { printable } from '../../shared/printable.js';
import type { CredentialTarget } from '../../shared/protocol.js';

export interface RepositoryRef {
  owner: string;
  name: string;
  /** `owner/name` in lowercase: GitHub names are case-insensitive. */
  key: string;
}

// GitHub's own character sets for account and repository names.
const OWNER = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/;
const NAME = /^[A-Za-z0-9._-]{1,100}$/;

function quoted(path: string): string {
  return printable(path, 120);
}

export function useHttpPathFix(target: CredentialTarget): string {
  return `git config --global credential.${target.protocol}://${target.host}.useHttpPath true`;
}

export function parseRepository(target: CredentialTarget): RepositoryRef {
  if (target.path === undefined || target.path === '') {
    throw new RequestDeniedError(
      `git did not send a repository path for '${target.host}', so no repository-scoped token can be minted; run: ${useHttpPathFix(target)}`,
    );
  }

  // Git decodes percent-escapes before it sends `path`; decoding again would
  // let `%252F` become a slash. A '%' left here fails the name check below.
  // git-lfs asks for `owner/repo.git/info/lfs`: the same repository.
  const path = stripGitSuffixes(trimSlashes(target.path));

  const parts = path.split('/');
  const [owner, name] = parts;
  if (parts.length !== 2 || owner === undefined || name === undefined) {
    throw new RequestDeniedError(
      `repository path '${quoted(target.path)}' is not of the form owner/repository; use a clone URL like https://${target.host}/OWNER/REPO.git`,
    );
  }
  if (!OWNER.test(owner) || !NAME.test(name) || name === '.' || name === '..') {
    throw new RequestDeniedError(
      `repository path '${quoted(target.path)}' is not a valid GitHub owner/repository name`,
    );
  }
  return { owner, name, key: `${owner}/${name}`.toLowerCase() };
}
