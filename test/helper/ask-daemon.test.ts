/**
 * Autostart starts a daemon only when nothing listens on the socket. Found
 * in review: a daemon at its connection cap answered "busy", and every
 * helper refused that way started a twin that read the config and key only
 * to lose the socket lock.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { defaultDaemonLogPath } from '../../shared/daemon-log-path.js';
import { askDaemon } from '../../helper/ask-daemon.js';
import { DaemonUnreachableError } from '../../shared/errors.js';
import { encodeMessage, errorReply, PROTOCOL_VERSION } from '../../shared/protocol.js';

const request = {
  v: PROTOCOL_VERSION,
  op: 'get',
  target: { protocol: 'https', host: 'github.com', path: 'acme/widgets' },
  requester: { pid: 1, ppid: 0 },
} as const;

/** A socket directory (short path) and an env whose config asks for autostart. */
async function setup(t: Test) {
  const dir = await mkdtemp(join(tmpdir(), 'gcb-ask-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const configPath = join(dir, 'config.json');
  // Autostart on, and a config no daemon can start with: a launch fails fast.
  await writeFile(configPath, JSON.stringify({ autostart: true, integrations: 'none' }));
  const env = { ...process.env, GIT_CREDENTIAL_BROKER_CONFIG: configPath, XDG_STATE_HOME: dir };
  const socketPath = join(dir, 's.sock');
  const launchLog = defaultDaemonLogPath(env, socketPath);
  return { socketPath, env, launchLog };
}

function serve(t: Test, socketPath: string, onConnection: (socket: Socket) => void) {
  const server: Server = createServer(onConnection);
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return new Promise<void>((resolve) => server.listen(socketPath, resolve));
}

t.test('no socket at all: autostart tries to start a daemon', async (t) => {
  const { socketPath, env } = await setup(t);

  // Run from the sources there is no daemon build beside the launcher, and
  // from the build the config is bad: either way the launch is what fails.
  await t.rejects(askDaemon(socketPath, request, { autostart: true, env }), {
    message: /did not start|cannot start the broker daemon/,
  });
});

t.test('a daemon that answers busy is not given a twin', async (t) => {
  const { socketPath, env, launchLog } = await setup(t);
  await serve(t, socketPath, (socket) => {
    socket.once('data', () =>
      socket.end(
        encodeMessage(errorReply(new DaemonUnreachableError('the broker daemon is busy'))),
      ),
    );
  });

  await t.rejects(askDaemon(socketPath, request, { autostart: true, env }), {
    code: 'DAEMON_UNREACHABLE',
    message: /^the broker daemon is busy$/,
  });
  t.notOk(existsSync(launchLog), 'no daemon was launched');
});

t.test('a daemon that hangs up without answering is not given a twin', async (t) => {
  const { socketPath, env, launchLog } = await setup(t);
  await serve(t, socketPath, (socket) => socket.destroy());

  const error = await askDaemon(socketPath, request, { autostart: true, env }).then(
    () => undefined,
    (e: Error) => e,
  );
  t.match(error, {
    code: 'DAEMON_UNREACHABLE',
    message: /closed the connection without a reply|cannot reach/,
  });
  t.notMatch(error?.message ?? '', /start/, 'the error is the daemon’s, not a launch’s');
  t.notOk(existsSync(launchLog), 'no daemon was launched');
});
