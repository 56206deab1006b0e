/**
 * What httpFetch answers with: the part of fetch's Response that
 * @octokit/request and the retry policy read, its body already in memory.
 */
import type { IncomingMessage } from 'node:http';

/** What callers read of an answer's headers; names in any case. */
export interface FetchHeaders extends Iterable<[string, string]> {
  get(name: string): string | null;
  has(name: string): boolean;
}

/** The answer, its body already read in full. */
export interface FetchResponse {
  readonly status: number;
  readonly statusText: string;
  readonly url: string;
  readonly ok: boolean;
  readonly headers: FetchHeaders;
  /** Always null: there is no stream left to read or cancel. */
  readonly body: null;
  text(): Promise<string>;
  json(): Promise<unknown>;
  arrayBuffer(): Promise<ArrayBuffer>;
}

export class Headers implements FetchHeaders {
  readonly #map = new Map<string, string>();

  constructor(raw: IncomingMessage['headers']) {
    for (const [name, value] of Object.entries(raw)) {
      if (value !== undefined) this.#map.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
  }

  get(name: string): string | null {
    return this.#map.get(name.toLowerCase()) ?? null;
  }

  has(name: string): boolean {
    return this.#map.has(name.toLowerCase());
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.#map.entries();
  }
}

export class Answer implements FetchResponse {
  readonly body = null;
  readonly #bytes: Buffer;

  constructor(
    readonly status: number,
    readonly statusText: string,
    readonly url: string,
    readonly headers: FetchHeaders,
    bytes: Buffer,
  ) {
    this.#bytes = bytes;
  }

  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }

  async text(): Promise<string> {
    return this.#bytes.toString('utf8');
  }

  async json(): Promise<unknown> {
    return JSON.parse(this.#bytes.toString('utf8'));
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    const bytes = this.#bytes;
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length).slice().buffer;
  }
}
