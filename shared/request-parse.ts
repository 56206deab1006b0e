/**
 * The daemon's side of the wire protocol: a request line parsed and
 * checked field by field, before anything serves it.
 */
import { BadRequestError } from './errors.js';
import { MAX_PATH_LENGTH } from './paths-text.js';
import {
  PROTOCOL_VERSION,
  type CredentialTarget,
  type EraseRequest,
  type GetRequest,
  type PermissionLevel,
  type Permissions,
  type Request,
  type Requester,
} from './protocol.js';
import { isRecord, parseLine, shortJson } from './protocol-line.js';

// C0 controls and DEL, and the C1 controls and line and paragraph separators.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

function parseTarget(value: unknown): CredentialTarget {
  if (!isRecord(value)) throw new BadRequestError('malformed request: target must be an object');
  const { protocol, host, path } = value;
  if (typeof protocol !== 'string' || protocol === '') {
    throw new BadRequestError('malformed request: target.protocol must be a non-empty string');
  }
  if (typeof host !== 'string' || host === '') {
    throw new BadRequestError('malformed request: target.host must be a non-empty string');
  }
  if (path !== undefined && typeof path !== 'string') {
    throw new BadRequestError('malformed request: target.path must be a string');
  }
  // Checked before anything else looks at them: work per request stays small.
  if (host.length > 255 || protocol.length > 32) {
    throw new BadRequestError('malformed request: target.host or target.protocol is too long');
  }
  if (path !== undefined && path.length > MAX_PATH_LENGTH) {
    throw new BadRequestError(
      `malformed request: target.path is longer than ${MAX_PATH_LENGTH} characters`,
    );
  }
  // No host, protocol or repository name holds one (recent git even
  // refuses a carriage return; older git decodes %1b in a URL's path and
  // sends it): refused here, so nothing after has to be ready for them.
  for (const [name, value] of [
    ['protocol', protocol],
    ['host', host],
    ['path', path ?? ''],
  ] as const) {
    if (CONTROL_CHARACTER.test(value)) {
      throw new BadRequestError(
        `malformed request: target.${name} contains a control character, which no valid ${name} holds; check the remote URL`,
      );
    }
  }
  return path === undefined ? { protocol, host } : { protocol, host, path };
}

function parseRequester(value: unknown): Requester {
  if (!isRecord(value)) return { pid: 0, ppid: 0 };
  const requester: Requester = {
    pid: Number.isSafeInteger(value.pid) ? (value.pid as number) : 0,
    ppid: Number.isSafeInteger(value.ppid) ? (value.ppid as number) : 0,
  };
  if (Number.isSafeInteger(value.uid)) requester.uid = value.uid as number;
  if (typeof value.cwd === 'string') requester.cwd = value.cwd.slice(0, 4096);
  return requester;
}

const LEVELS: ReadonlySet<string> = new Set(['read', 'write', 'admin']);

function parsePermissions(value: unknown): Permissions | undefined {
  if (value === undefined) return undefined;
  if (!isRecord(value))
    throw new BadRequestError('malformed request: permissions must be an object');
  const permissions: Permissions = {};
  for (const [name, level] of Object.entries(value)) {
    // GitHub's names are lowercase words; `__proto__` would vanish on assignment.
    if (!/^[a-z][a-z_]{0,63}$/.test(name)) {
      throw new BadRequestError('malformed request: a permission name is not a GitHub permission');
    }
    if (typeof level !== 'string' || !LEVELS.has(level)) {
      throw new BadRequestError(
        `invalid permission level ${shortJson(level)} for '${name}'; use read, write or admin`,
      );
    }
    permissions[name] = level as PermissionLevel;
  }
  return permissions;
}

/** Parses and validates one request line; throws BadRequestError. */
export function parseRequest(line: string): Request {
  const value = parseLine(line, 'request');

  switch (value.op) {
    case 'ping':
    case 'status':
    case 'stop':
      return { v: PROTOCOL_VERSION, op: value.op };
    case 'get': {
      const request: GetRequest = {
        v: PROTOCOL_VERSION,
        op: 'get',
        target: parseTarget(value.target),
        requester: parseRequester(value.requester),
      };
      const permissions = parsePermissions(value.permissions);
      if (permissions !== undefined) request.permissions = permissions;
      if (value.hostFromDaemon === true) request.hostFromDaemon = true;
      else if (value.hostFromDaemon !== undefined) {
        throw new BadRequestError('malformed request: hostFromDaemon must be true or absent');
      }
      return request;
    }
    case 'erase': {
      const request: EraseRequest = {
        v: PROTOCOL_VERSION,
        op: 'erase',
        target: parseTarget(value.target),
        requester: parseRequester(value.requester),
      };
      if (typeof value.password === 'string') request.password = value.password;
      return request;
    }
    default:
      throw new BadRequestError(
        `unknown request op ${shortJson(value.op)}; expected get, erase, ping, status or stop`,
      );
  }
}
