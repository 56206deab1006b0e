/** Turns `owner/repo` or a clone URL from the command line into a target. */
import { BrokerError } from '../../shared/errors.js';
import type { CredentialTarget } from '../../shared/protocol.js';
import { parseCredentialInput } from '../credential-protocol.js';
import { parseHostOption } from './host-option.js';

/**
 * `hostOption` is `--host`: a host (reached over https) or a URL whose
 * scheme is kept, so the request, and the audit line it leaves, names the
 * protocol git uses for that host.
 */
export function targetFromArgument(argument: string, hostOption: string): CredentialTarget {
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
