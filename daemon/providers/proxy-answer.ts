/**
 * Reads a proxy's answer to a CONNECT from the bytes received so far, the
 * way curl and Node's HTTP parser read an answer head: lines may end in
 * CRLF or a bare LF, and interim 1xx answers (100 Continue) before the
 * real one are skipped. 101 is not interim: it is an answer, and not a
 * tunnel.
 */

/** Largest CONNECT answer read, interim answers included; a proxy's is a few hundred bytes. */
export const MAX_ANSWER_HEAD_BYTES = 16 * 1024;

export type ConnectAnswer =
  /** More bytes are needed. */
  | { kind: 'incomplete' }
  /** The head ran past MAX_ANSWER_HEAD_BYTES without ending. */
  | { kind: 'too-large' }
  /** The first line is not an HTTP/1.x status line. */
  | { kind: 'not-http' }
  | {
      kind: 'answer';
      status: number;
      /** The reason phrase, as sent: the caller makes it printable. */
      reason: string;
      /** The `Retry-After` header, when there is one. */
      retryAfter?: string;
      /** Bytes received after the head: nothing may come before the client speaks. */
      extraBytes: number;
    };

const STATUS_LINE = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/;

export function readConnectAnswer(received: Buffer): ConnectAnswer {
  // latin1: one character per byte, so string offsets are byte offsets.
  const text = received.subarray(0, MAX_ANSWER_HEAD_BYTES + 4).toString('latin1');
  let offset = 0;
  for (;;) {
    const firstLineEnd = text.indexOf('\n', offset);
    if (firstLineEnd !== -1) {
      const firstLine = text.slice(offset, firstLineEnd).replace(/\r$/, '');
      if (!STATUS_LINE.test(firstLine)) return { kind: 'not-http' };
    }
    const end = /\r?\n\r?\n/.exec(text.slice(offset));
    if (end === null || offset + end.index > MAX_ANSWER_HEAD_BYTES) {
      return received.length > MAX_ANSWER_HEAD_BYTES
        ? { kind: 'too-large' }
        : { kind: 'incomplete' };
    }

    const lines = text.slice(offset, offset + end.index).split(/\r?\n/);
    const [, code, reason] = STATUS_LINE.exec(lines[0]!)!;
    const status = Number(code);
    const headEnd = offset + end.index + end[0].length;
    if (status >= 100 && status < 200 && status !== 101) {
      offset = headEnd;
      continue;
    }
    const retryAfter = lines
      .slice(1)
      .find((line) => /^retry-after\s*:/i.test(line))
      ?.replace(/^[^:]*:/, '')
      .trim();
    return {
      kind: 'answer',
      status,
      reason: reason ?? '',
      ...(retryAfter === undefined ? {} : { retryAfter }),
      extraBytes: received.length - headEnd,
    };
  }
}
