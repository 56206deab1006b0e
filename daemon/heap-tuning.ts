/**
 * V8 settings for the long-lived daemon process. Set at run time, from
 * runDaemon, so that every way of starting the daemon gets them: the
 * foreground `daemon` command (systemd, containers), autostart and
 * `daemon --detach`. NODE_OPTIONS does not accept them, and re-executing
 * node with flags would keep a second process alive (the daemon's pid is
 * what systemd and the socket lock track).
 */
import { setFlagsFromString } from 'node:v8';

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
