/**
 * Why a connection to GitHub failed, from the error code Node put on it
 * (however deeply the HTTP client wrapped it): a certificate the daemon does
 * not trust and a name that does not resolve are problems of the setup,
 * not of a GitHub that "did not answer" (found in a new-user trial: both
 * were reported that way, and a self-signed certificate was retried four
 * times).
 */

/** A failure, what it means, and whether trying again can change it. */
export interface ConnectionFailure {
  code: string;
  kind: 'certificate' | 'name' | 'refused' | 'descriptors' | 'other';
  /** False when the same call will fail the same way until the setup changes. */
  retryable: boolean;
}

/** OpenSSL's and Node's codes for a certificate chain or name it does not accept. */
const CERTIFICATE_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'INVALID_CA',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** The first `code` string on the error or its causes. */
function errorCode(error: unknown): string | undefined {
  let current = error;
  for (let depth = 0; depth < 6 && typeof current === 'object' && current !== null; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^[A-Z0-9_]{2,64}$/.test(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

export function connectionFailure(error: unknown): ConnectionFailure | undefined {
  const code = errorCode(error);
  if (code === undefined) return undefined;
  if (CERTIFICATE_CODES.has(code)) return { code, kind: 'certificate', retryable: false };
  // EAI_AGAIN is a resolver that did not answer in time: that may pass.
  if (code === 'ENOTFOUND') return { code, kind: 'name', retryable: false };
  if (code === 'ECONNREFUSED') return { code, kind: 'refused', retryable: true };
  // This process (EMFILE) or the whole system (ENFILE) is out of file
  // descriptors: a local problem, which passes as other sockets close.
  if (code === 'EMFILE' || code === 'ENFILE') return { code, kind: 'descriptors', retryable: true };
  return { code, kind: 'other', retryable: true };
}

/** What to say about a failure, for a call to `origin`; undefined for the generic wording. */
export function describeConnectionFailure(
  failure: ConnectionFailure,
  origin: string,
): string | undefined {
  switch (failure.kind) {
    case 'certificate':
      return `the TLS certificate of '${origin}' is not accepted (${failure.code}); for a server with a private CA, start the daemon with NODE_EXTRA_CA_CERTS set to that CA's PEM file; for a name mismatch, make apiBaseUrl use the name the certificate is for`;
    case 'name':
      return `the host name of '${origin}' does not resolve (${failure.code}); check apiBaseUrl and this machine's DNS`;
    case 'descriptors':
      return `the daemon could not open a connection to '${origin}': ${failure.code === 'EMFILE' ? 'it has' : 'the system has'} no file descriptor left (${failure.code}), so GitHub was not asked; raise the limit (ulimit -n, or LimitNOFILE= in a systemd unit) or lower the load on the daemon`;
    case 'refused':
      return `'${origin}' refused the connection (${failure.code}); check apiBaseUrl's host and port, and that the server runs`;
    default:
      return undefined;
  }
}
