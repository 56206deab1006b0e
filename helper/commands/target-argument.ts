/** Turns `owner/repo` or a clone URL from the command line into a target. */
import { BrokerError } from '../../shared/errors.js';
import { normalizeHost } from '../../shared/hosts.js';
import { printable } from '../../shared/printable.js';
import type { CredentialTarget } from '../../shared/protocol.js';
import { parseCredentialInput } from '../credential-protocol.js';
import { parseHostOption } from './host-option.js';

/** `ssh://`, `git+ssh://` and `ssh+git://`, as git spells its SSH transport. */
const SSH_URL = /^(?:ssh|git\+ssh|ssh\+git):\/\//i;
/** Git's scp-like syntax, `[user@]host:path`: a colon before any slash. */
const SCP_LIKE = /^(?:[^@/\s]+@)?([^:/\s@]+):([^\s]+)$/;

/** Where an SSH remote is, without its user name: `host/owner/repo.git`. */
function sshRemote(argument: string): string | undefined {
  if (SSH_URL.test(argument)) {
    try {
      const url = new URL(argument.replace(/^[^:]+/, 'ssh'));
      return `${url.hostname}/${url.pathname.replace(/^\/+/, '')}`;
    } catch {
      return '';
    }
  }
  if (argument.includes('://')) return undefined;
  const scp = SCP_LIKE.exec(argument);
  return scp === null ? undefined : `${scp[1]!}/${scp[2]!.replace(/^\/+/, '')}`;
}

/**
 * Refuses an SSH remote with what to do instead. Git authenticates SSH with
 * SSH keys and never runs a credential helper for it; read as an https
 * argument, `git@host:owner/repo` would be judged a path on github.com.
 * The user name is not repeated, nor is the whole argument.
 */
function refuseSsh(argument: string): void {
  const remote = sshRemote(argument);
  if (remote === undefined) return;
  const https = remote === '' ? '' : `: https://${printable(remote, 300)}`;
  throw new BrokerError(
    'BAD_REQUEST',
    `the argument is an SSH remote, and SSH remotes are not served by a credential helper (git authenticates them with SSH keys); use the repository's https URL${https}`,
  );
}

/**
 * `hostOption` is `--host`: a host (reached over https) or a URL whose
 * scheme is kept, so the request, and the audit line it leaves, names the
 * protocol git uses for that host.
 */
export function targetFromArgument(argument: string, hostOption: string): CredentialTarget {
  refuseSsh(argument);
  if (argument.includes('://')) {
    const attributes = parseCredentialInput(`url=${argument}\n`);
    if (attributes.protocol === undefined || attributes.host === undefined) {
      // Not quoted: a URL may carry a password.
      throw new BrokerError(
        'BAD_REQUEST',
        'the argument is not a clone URL (scheme://host/owner/repo)',
      );
    }
    const target: CredentialTarget = { protocol: attributes.protocol, host: attributes.host };
    if (attributes.path !== undefined) target.path = attributes.path;
    return target;
  }
  if (!/^[^/\s]+\/[^/\s]+$/.test(argument)) {
    throw new BrokerError(
      'BAD_REQUEST',
      `'${argument}' is neither owner/repository nor a clone URL; for example acme/widgets or https://github.com/acme/widgets.git`,
    );
  }
  const { protocol, host } = parseHostOption(hostOption);
  return { protocol, host, path: argument };
}

/** The host an owner/repo argument names when --host does not, for a daemon that predates choosing. */
export const FALLBACK_HOST = 'github.com';

export interface TokenTarget {
  target: CredentialTarget;
  /** True for owner/repo without --host: the daemon serves it on its one host. */
  hostFromDaemon: boolean;
}

/**
 * `token`'s argument and --host. Without --host, an owner/repo argument is
 * served on the one host the daemon has an integration for (found in a
 * trial: it meant github.com even to a daemon that serves only a GitHub
 * Enterprise Server). A --host that names another host than the clone URL
 * beside it is refused: one of the two is a mistake, and it was ignored.
 */
export function tokenTarget(argument: string, hostOption: string | undefined): TokenTarget {
  const target = targetFromArgument(argument, hostOption ?? FALLBACK_HOST);
  const isUrl = argument.includes('://');
  if (isUrl && hostOption !== undefined) {
    const { protocol, host } = parseHostOption(hostOption);
    const same =
      protocol === target.protocol.toLowerCase() &&
      normalizeHost(protocol, host) === normalizeHost(protocol, target.host);
    if (!same) {
      throw new BrokerError(
        'BAD_REQUEST',
        `--host '${protocol}://${host}' and the clone URL's '${target.protocol}://${printable(target.host, 200)}' differ; the URL names its host, so leave --host out (it is for an owner/repository argument)`,
      );
    }
  }
  return { target, hostFromDaemon: hostOption === undefined && !isUrl };
}
