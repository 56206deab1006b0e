/**
 * A daemon holding more cached tokens than a 64 KiB reply can list: status,
 * reload and stop still work (found in review: from ~450 tokens on, status
 * said "running": false and stop printed "stopped" while the daemon ran).
 * A real daemon process filled through its socket by the command provider.
 */
import { randomBytes } from 'node:crypto';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { processExists } from '../../helper/process-exists.js';
import { sendRequest } from '../../shared/daemon-client.js';
import { MAX_MESSAGE_BYTES, PROTOCOL_VERSION } from '../../shared/protocol.js';
import { fakeDaemon } from '../fixtures/cli-world.js';
import { startDaemonProcess } from '../fixtures/daemon-process.js';
import { assertNoSecrets } from '../fixtures/leak-scan.js';
import { recordSecrets } from '../fixtures/leak-ledger.js';
import { runHelper } from '../fixtures/run-helper.js';

const TOKENS = 1000;

t.test('status, status --json, reload and stop work with 1000 cached tokens', async (t) => {
  const dir = t.testdir();
  const secret = `largecache_${randomBytes(12).toString('hex')}`;
  recordSecrets([secret]);
  // A shell script: a thousand Node starts would take most of a minute here.
  const script = join(dir, 'mint.sh');
  await writeFile(
    script,
    `#!/bin/sh\necho '{"secret":"${secret}","expiresAt":'$(( $(date +%s) + 3600 ))'}'\n`,
  );
  await chmod(script, 0o755);
  const daemon = await startDaemonProcess(dir, {
    integrations: [
      { name: 'tools', provider: 'command', host: 'tools.internal', command: [script] },
    ],
  });
  t.teardown(() => daemon.stop());
  let next = 0;
  const fill = async (): Promise<void> => {
    for (let i = next++; i < TOKENS; i = next++) {
      const reply = await sendRequest(daemon.socketPath, {
        v: PROTOCOL_VERSION,
        op: 'get',
        target: { protocol: 'https', host: 'tools.internal', path: `team/repository-${i}` },
        requester: { pid: process.pid, ppid: process.ppid },
      });
      if (!reply.ok) throw new Error(reply.error.message);
    }
  };
  await Promise.all(Array.from({ length: 8 }, fill));
  const socket = ['--socket', daemon.socketPath];

  const text = await runHelper(['status', ...socket], '');
  const json = await runHelper(['status', '--json', ...socket], '');
  const reload = await runHelper(['reload', ...socket], '');
  const stop = await runHelper(['stop', ...socket], '');
  // Gone or a zombie its parent, this test, has yet to reap: not running.
  const runningWhenStopReturned = processExists(daemon.pid);

  t.equal(text.code, 0, text.stderr);
  t.match(text.stdout, /daemon: +running/);
  t.equal(json.code, 0, json.stderr);
  t.ok(json.stdout.length > MAX_MESSAGE_BYTES, 'the status is larger than any other reply may be');
  const status = JSON.parse(json.stdout) as { running: boolean; cache: unknown[] };
  t.equal(status.running, true);
  t.equal(status.cache.length, TOKENS, 'every cached token is listed');
  t.equal(reload.code, 0, reload.stderr);
  t.match(reload.stdout, /reloaded/);
  t.equal(stop.code, 0, stop.stderr);
  t.match(stop.stdout, /stopped/);
  t.notOk(runningWhenStopReturned, 'the daemon had exited when stop said so');
  assertNoSecrets(t, { text: text.stdout, json: json.stdout, stop: stop.stdout }, [secret]);
});

t.test('any reply but status larger than 64 KiB is refused', async (t) => {
  const socketPath = await fakeDaemon(t, {
    v: 1,
    ok: true,
    daemonVersion: 'x'.repeat(MAX_MESSAGE_BYTES),
  });

  const ping = sendRequest(socketPath, { v: PROTOCOL_VERSION, op: 'ping' });

  await t.rejects(ping, { message: /sent a reply larger than 65536 bytes to 'ping'/ });
});
