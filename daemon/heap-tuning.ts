/**
 * V8 settings for the long-lived daemon process. Set at run time, from
 * runDaemon, so that every way of starting the daemon gets them: the
 * foreground `daemon` command (systemd, containers), autostart and
 * `daemon --detach`. NODE_OPTIONS does not accept --optimize-for-size, and
 * re-executing node with flags would keep a second process alive (the
 * daemon's pid is what systemd and the socket lock track), costing more
 * memory than the flag saves.
 */
import { setFlagsFromString } from 'node:v8';

/**
 * With V8's default heap growth, minting 10,000 scopes grew the heap to
 * ~150 MB (+166 MB RSS) of mostly garbage, and V8 gave it back only when its
 * memory reducer happened to run: after 20-45 s in some runs, not within a
 * minute in others. --optimize-for-size grows the heap by a smaller factor
 * (it is read at each GC, so setting it after startup takes effect): the
 * same burst peaks at about +50 MB and settles within ~10 s.
 */
export function tuneHeapForDaemon(): void {
  setFlagsFromString('--optimize-for-size');
}
