/**
 * A sandbox whose request the daemon's shutdown cut off: the daemon had
 * closed its connection unanswered, and a client of another uid, which
 * cannot read the daemon's lock or log, was told "closed the connection
 * without a reply; ... another program there is no broker daemon" (found
 * in a sandbox review). The daemon now answers each such request with a
 * cut-off reply first. Real daemon, real `git credential fill` as nobody
 * (root only), a mint held at the fixture GitHub past the shutdown's time.
 */
import t from 'tap';
import { credentialFillAsNobody, skipUnlessRoot as skip } from '../fixtures/as-nobody.js';
import { OWNER } from '../fixtures/broker-world.js';
import { sandboxWorld } from '../fixtures/sandbox-world.js';
import { MINT } from '../fixtures/shutdown-checks.js';

t.test(
  'git as another uid whose request the shutdown cut off is told the daemon stopped before it could answer',
  { skip },
  async (t) => {
    const { w, listener } = await sandboxWorld(t, { config: { shutdownTimeoutSeconds: 1 } });
    w.github.injectFault({ method: 'POST', path: MINT, status: 0, delayMs: 5000 });
    const before = w.github.requestsStarted;

    const fill = credentialFillAsNobody(t, w.github.host, listener, `${OWNER}/widgets`);
    // Its installation lookup and its mint reached GitHub: it is in flight.
    while (w.github.requestsStarted < before + 2) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    w.daemon.signal('SIGTERM');
    const filled = await fill;
    await w.daemon.exited;

    t.not(filled.code, 0, 'git gets no credential');
    t.notMatch(filled.stdout, /password=/);
    t.match(
      filled.stderr,
      new RegExp(
        `the broker daemon \\(pid ${w.daemon.pid}\\) on '${listener}' stopped before it could answer this request: its shutdown deadline \\(\\d\\d:\\d\\d:\\d\\d\\) passed with the request still in flight, so it was cut off; run git again once the daemon is back`,
      ),
    );
    t.notMatch(filled.stderr, /closed the connection without a reply|no broker daemon/);
    t.match(w.daemon.output(), /"cutOff":1/, 'the daemon logs the cut-off as before');
  },
);
