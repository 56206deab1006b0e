/**
 * `status` shows each listener's mode: 0600 for a private socket, 0660
 * with the group a group listener is open to, read from the socket file.
 * Real daemon, real sockets on disk, the built helper's `status` and
 * `status --json`.
 */
import t from 'tap';
import { skipUnlessRoot as skip } from '../fixtures/as-nobody.js';
import { sandboxWorld } from '../fixtures/sandbox-world.js';
import { runHelper } from '../fixtures/run-helper.js';

t.test(
  'status and status --json give a private socket 0600 and a group listener 0660 with its group',
  // As root: the group listener is given to nogroup, which needs root or membership.
  { skip },
  async (t) => {
    const { w, listener: ci } = await sandboxWorld(t, { listener: { allow: ['acme/*'] } });
    const socket = w.daemon.socketPath;

    const text = await runHelper(['status', '--socket', socket], '', w.env);
    const json = await runHelper(['status', '--json', '--socket', socket], '', w.env);

    t.equal(text.code, 0, text.stderr);
    t.match(
      text.stdout,
      `\n  ${socket}: any repository; at most the integration's permissions; mode 0600 (private: this user only)\n`,
    );
    t.match(
      text.stdout,
      `\n  ${ci}: acme/*; at most the integration's permissions; group nogroup may connect; mode 0660 (this user and group nogroup)\n`,
    );
    t.equal(json.code, 0, json.stderr);
    const listeners = (JSON.parse(json.stdout) as { listeners: Record<string, unknown>[] })
      .listeners;
    t.same(listeners, [
      { socket, mode: '0600' },
      { socket: ci, allow: ['acme/*'], group: 'nogroup', mode: '0660' },
    ]);
    t.same(
      listeners.map((listener) => Object.keys(listener).at(-1)),
      ['mode', 'mode'],
      'the new field comes last in each listener object',
    );
  },
);
