/**
 * V8 settings for the long-lived daemon process. Set at run time, from
 * runDaemon, so that every way of starting the daemon gets them: the
 * foreground `daemon` command (systemd, containers), autostart and
 * `daemon --detach`. NODE_OPTIONS does not accept them, and re-executing
 * node with flags would keep a second process alive (the daemon's pid is
 * what systemd and the socket lock track).
 */
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import type { Logger } from 'pino';

/**
 * With V8's default heap growth, minting 10,000 scopes grew the heap to
 * ~150 MB (+135 to +166 MB RSS) of mostly garbage, and V8 gave it back only
 * when its memory reducer happened to run: after 20-45 s in some runs, not
 * within a minute in others. Growing the heap by 20 % at a time (V8 reads
 * this at each GC, so setting it after startup takes effect) keeps the same
 * burst at about +75 MB, and it settles within ~10 s.
 *
 * Measured against --optimize-for-size, which keeps the peak lower (+45 MB)
 * but also shrinks the young generation: it cost 15-20 % more CPU per cache
 * hit, and settled no lower. This is a single number V8 consults when it
 * sizes the heap; flags that change how GC runs (parallel or concurrent
 * marking) crashed the daemon when set after startup and are not used.
 */
export function tuneHeapForDaemon(): void {
  setFlagsFromString('--heap-growing-percent=20');
}

/** How often an idle daemon looks at whether a burst left its heap grown. */
export const IDLE_CHECK_MS = 5_000;
/** Heap growth (since the last compaction, or start) worth giving back. */
export const MIN_HEAP_GROWTH_BYTES = 16 * 1024 * 1024;

export interface IdleCompactorOptions {
  /** A number that changes whenever the daemon serves a request. */
  activity: () => number;
  log: Logger;
  checkEveryMs?: number;
  minGrowthBytes?: number;
  /** The V8 heap's committed size; v8.getHeapStatistics() unless a test sets it. */
  heapBytes?: () => number;
  /** Runs the compaction; compactHeap unless a test sets it. */
  compact?: () => Promise<void>;
}

/**
 * Gives memory back once a burst is over. After minting 10,000 tokens the
 * heap had grown by about 50 MB, mostly garbage, and V8 gave it back only
 * when its memory reducer ran: after 10 s in some runs, after 85 s or not
 * within minutes in others. This looks every IDLE_CHECK_MS: when no request
 * came in since the last look and the heap has grown by MIN_HEAP_GROWTH_BYTES
 * since the last compaction, it has V8 collect all it can and shrink its
 * spaces (about 80 ms, once per burst, while the daemon is idle). RSS was
 * back to +13 MB over idle at once.
 */
export class IdleCompactor {
  readonly #options: IdleCompactorOptions;
  readonly #heapBytes: () => number;
  readonly #compact: () => Promise<void>;
  #timer: NodeJS.Timeout | undefined;
  #baselineBytes: number;
  #lastActivity: number;
  #running = false;
  #disabled = false;

  constructor(options: IdleCompactorOptions) {
    this.#options = options;
    this.#heapBytes = options.heapBytes ?? (() => getHeapStatistics().total_heap_size);
    this.#compact = options.compact ?? compactHeap;
    this.#baselineBytes = this.#heapBytes();
    this.#lastActivity = options.activity();
  }

  start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => void this.check(), this.#options.checkEveryMs ?? IDLE_CHECK_MS);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** One look; the timer calls this. Resolves true when it compacted. */
  async check(): Promise<boolean> {
    const activity = this.#options.activity();
    const idle = activity === this.#lastActivity;
    this.#lastActivity = activity;
    if (!idle || this.#running || this.#disabled) return false;
    const before = this.#heapBytes();
    if (before - this.#baselineBytes < (this.#options.minGrowthBytes ?? MIN_HEAP_GROWTH_BYTES)) {
      return false;
    }
    this.#running = true;
    const startedMs = performance.now();
    try {
      await this.#compact();
    } catch (error) {
      // A Node built without the inspector: V8's own reducer still runs.
      this.#disabled = true;
      this.#options.log.info(
        { err: error },
        'cannot compact the heap after bursts; memory is given back when V8 decides',
      );
      return false;
    } finally {
      this.#running = false;
    }
    this.#baselineBytes = this.#heapBytes();
    this.#options.log.info(
      {
        heapMb: Math.round(before / 2 ** 20),
        nowMb: Math.round(this.#baselineBytes / 2 ** 20),
        ms: Math.round(performance.now() - startedMs),
      },
      'gave memory back after a burst of requests',
    );
    return true;
  }
}

/**
 * Has V8 collect all the garbage it can and release what it freed (its
 * low-memory notification), through an in-process inspector session: no
 * port is opened. Node offers no other way without starting node with
 * --expose-gc, and a plain full GC leaves the grown young generation.
 */
export async function compactHeap(): Promise<void> {
  const { Session } = await import('node:inspector');
  const session = new Session();
  session.connect();
  try {
    await new Promise<void>((resolve, reject) =>
      session.post('HeapProfiler.collectGarbage', (error) => (error ? reject(error) : resolve())),
    );
  } finally {
    session.disconnect();
  }
}
