/**
 * What a sandbox is told when no daemon serves its listener: a client of
 * another uid cannot start the daemon (nor read its lock), so "start it
 * with git-credential-broker daemon --detach" was advice it could not act
 * on (found in a sandbox review). On another user's socket, or in another
 * user's socket directory once the socket is gone, it is told whose daemon
 * that is and to ask whoever operates it; on its own, the usual advice.
 * Real daemon processes, real `git credential fill` as `nobody` (root only).
 */
import { chmodSync, chownSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { shellQuote } from '../../shared/printable.js';
import { stoppedMarkPath } from '../../shared/stopped-mark.js';
import {
  asNobody,
  credentialFillAsNobody,
  NOBODY,
  nobodyHome,
  skipUnlessRoot as skip,
} from '../fixtures/as-nobody.js';
import { createBrokerWorld, OWNER, type BrokerWorld } from '../fixtures/broker-world.js';
import { drainFor, markedStopping } from '../fixtures/drain.js';
import { sandboxWorld } from '../fixtures/sandbox-world.js';
import { HELPER_BIN } from '../fixtures/repo-root.js';

t.jobs = 2;

const ASK =
  /run by user 'root' \(uid 0\), not by this user.*ask whoever operates it to start it, then run git again/;

/** `git credential fill` as nobody for acme/widgets, with the broker on `socket` as its only helper. */
function fillAsNobody(t: Test, w: BrokerWorld, socket: string) {
  return credentialFillAsNobody(t, w.github.host, socket, `${OWNER}/widgets`);
}

t.test(
  'git as another uid on a listener whose daemon died is told to ask the daemon’s user, not to start it',
  { skip },
  async (t) => {
    const { w, listener } = await sandboxWorld(t);
    const home = await nobodyHome(t);
    w.daemon.signal('SIGKILL');
    await w.daemon.exited;

    const stale = await fillAsNobody(t, w, listener);
    const status = await asNobody(
      [process.execPath, HELPER_BIN, 'status', '--socket', listener],
      '',
    );
    const configure = await asNobody(
      [
        process.execPath,
        HELPER_BIN,
        'configure',
        '--host',
        `http://${w.github.host}`,
        '--socket',
        listener,
      ],
      '',
      { HOME: home, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: join(home, 'gitconfig') },
    );
    rmSync(listener);
    const gone = await fillAsNobody(t, w, listener);

    t.ok(existsSync(join(listener, '..')), 'the listener’s directory (root’s) is still there');
    t.not(stale.code, 0, 'git fails without a credential');
    t.match(stale.stderr, /is not running \(stale socket\)/);
    t.match(stale.stderr, ASK, 'and names whose daemon it is');
    t.notMatch(stale.stderr, /daemon --detach/, 'with no command nobody could run');
    t.match(status.stderr, ASK, 'status says the same');
    t.notMatch(status.stderr, /daemon --detach/);
    t.match(
      configure.stderr,
      /no broker daemon answers on .* yet.*run by user 'root' \(uid 0\).*ask whoever operates it to start it/,
    );
    t.notMatch(configure.stderr, /daemon --detach/);
    t.match(gone.stderr, /no broker daemon is listening at/, 'with the socket gone');
    t.match(gone.stderr, ASK, 'its directory says whose daemon it was');
    t.notMatch(gone.stderr, /daemon --detach/);
  },
);

t.test(
  'git as another uid waits out the restart gap, then is told to ask whoever operates the daemon',
  { skip },
  async (t) => {
    const { w, listener } = await sandboxWorld(t);
    await w.daemon.stop();
    t.ok(existsSync(stoppedMarkPath(listener)), 'the stopped daemon left its mark');

    const started = Date.now();
    const filled = await fillAsNobody(t, w, listener);

    t.not(filled.code, 0);
    t.ok(Date.now() - started > 5000, 'git waited for the next daemon first');
    t.match(filled.stderr, /stopped at .* and no daemon has started there since/);
    t.match(
      filled.stderr,
      /It is run by user 'root' \(uid 0\), not by this user, so the next one cannot be started from here: ask whoever operates it to start it, then run git again/,
    );
    t.notMatch(filled.stderr, /daemon --detach/);
  },
);

t.test(
  'git as nobody on a socket path of its own is still told how to start the daemon',
  { skip },
  async (t) => {
    const w = await createBrokerWorld(t.testdir());
    t.teardown(() => w.stop());
    const own = await mkdtemp(join(tmpdir(), 'gcb-own-'));
    t.teardown(() => rm(own, { recursive: true, force: true }));
    chmodSync(own, 0o755);
    const directory = join(own, 'run');
    mkdirSync(directory, { mode: 0o700 });
    chownSync(directory, NOBODY, NOBODY);
    const socket = join(directory, 'd.sock');

    const filled = await fillAsNobody(t, w, socket);

    t.not(filled.code, 0);
    t.match(
      filled.stderr,
      `no broker daemon is listening at '${socket}'; start it with: git-credential-broker daemon --detach --socket ${shellQuote(socket)}`,
    );
    t.notMatch(filled.stderr, /ask whoever operates/);
  },
);

t.test(
  'a helper of another uid whose own config has autostart on starts no daemon in the operator’s socket directory',
  { skip },
  async (t) => {
    const { w, listener } = await sandboxWorld(t);
    const home = await nobodyHome(t);
    // nobody's own config: autostart on, no listeners, so the socket is no listener of its.
    const configPath = join(home, 'config.json');
    writeFileSync(configPath, JSON.stringify({ autostart: true, integrations: [] }));
    chownSync(configPath, NOBODY, NOBODY);
    await w.daemon.stop();
    rmSync(stoppedMarkPath(listener), { force: true });

    const got = await asNobody(
      [process.execPath, HELPER_BIN, 'get'],
      `protocol=http\nhost=${w.github.host}\npath=${OWNER}/widgets.git\n\n`,
      {
        HOME: home,
        XDG_STATE_HOME: join(home, 'state'),
        GIT_CREDENTIAL_BROKER_CONFIG: configPath,
        GIT_CREDENTIAL_BROKER_SOCKET: listener,
      },
    );

    t.equal(got.code, 1, got.stderr);
    t.notMatch(got.stdout, /quit=1/, 'no config problem of its own: git may go on');
    t.match(got.stderr, ASK);
    t.notMatch(got.stderr, /belongs to uid|daemon --detach/);
    t.notOk(
      existsSync(join(home, 'state')),
      'it started no daemon (which would have logged there)',
    );
  },
);

t.test(
  'status as another uid while the daemon stops says to ask whoever operates it for the next one',
  { skip },
  async (t) => {
    const { w, listener } = await sandboxWorld(t);

    const { inFlight } = await drainFor(w, 3000);
    await markedStopping(w);
    const status = await asNobody(
      [process.execPath, HELPER_BIN, 'status', '--socket', listener],
      '',
    );
    await inFlight;

    t.equal(status.code, 1, status.stderr);
    t.match(status.stderr, /is stopping: it takes no new requests/);
    t.match(
      status.stderr,
      /it is run by user 'root' \(uid 0\), not by this user, so the next one cannot be started from here: ask whoever operates it to start it, then run git again/,
    );
    t.notMatch(status.stderr, /daemon --detach/);
  },
);
