/**
 * One protocol line read as a JSON object of this protocol's version, and
 * a value quoted short: what the request and reply parsers share.
 */
import { BadRequestError } from './errors.js';
import { withoutTokens } from './printable.js';
import { PROTOCOL_VERSION } from './protocol.js';

/** A client's value quoted in an error: short, so a reply never echoes a whole request. */
export function shortJson(value: unknown): string {
  // Tokens out before the cut: a token cut short is too short to recognize.
  const text = withoutTokens(JSON.stringify(value) ?? 'undefined');
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function parseLine(line: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new BadRequestError(`malformed ${what}: not valid JSON`);
  }
  if (!isRecord(value)) {
    throw new BadRequestError(`malformed ${what}: expected a JSON object`);
  }
  if (value.v !== PROTOCOL_VERSION) {
    throw new BadRequestError(
      `unsupported protocol version ${shortJson(value.v)} in ${what}; helper and daemon must come from the same release, restart the daemon after upgrading`,
    );
  }
  return value;
}
