/**
 * Listener sockets open to a group, for real: sockets and directories on
 * disk, their modes and groups, and (as root) clients of another uid
 * connecting through the group. Users cannot be created here; what needs
 * another identity is run as `nobody` through setpriv, when that is possible.
 */
import { execFile } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import t, { type Test } from 'tap';
import { AuditLog } from '../../daemon/audit-log.js';
import { ConfigFields } from '../../daemon/config-fields.js';
import { CredentialService } from '../../daemon/credential-service.js';
import type { ListenerConfig } from '../../daemon/listener-config.js';
import { closeListeners, startListeners } from '../../daemon/listener.js';
import { ProviderRegistry } from '../../daemon/provider-registry.js';
import { parseGroupAccess } from '../../daemon/socket-access.js';
import { TokenCache } from '../../daemon/token-cache.js';
import { PROTOCOL_VERSION } from '../../shared/protocol.js';
import { StubProvider } from '../fixtures/stub-provider.js';

const isRoot = process.geteuid?.() === 0;

/** A group this process may give sockets to, other than its primary one. */
function otherGroup(): { name: string; gid: number } | undefined {
  const egid = process.getegid!();
  for (const line of readFileSync('/etc/group', 'utf8').split('\n')) {
    const [name, , gid] = line.split(':');
    if (name === undefined || gid === undefined || !/^[0-9]+$/.test(gid)) continue;
    const id = Number(gid);
    if (id !== egid && (isRoot || process.getgroups!().includes(id))) return { name, gid: id };
  }
  return undefined;
}

/** A fresh directory under /tmp: test directories are too deep for socket paths. */
async function shortDir(t: Test, mode = 0o700): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'gcb-grp-'));
  chmodSync(dir, mode);
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function start(t: Test, listeners: ListenerConfig[]) {
  const log = pino({ level: 'silent' });
  const config = {
    name: 'stub',
    provider: 'stub',
    host: 'git.example',
    cacheTtlSeconds: 3000,
    minTokenLifeSeconds: 600,
    options: {},
  };
  const service = new CredentialService({
    registry: new ProviderRegistry([{ config, provider: new StubProvider() }]),
    cache: new TokenCache({ log }),
    audit: await AuditLog.open(join(t.testdir(), 'audit.log')),
  });
  const main = join(await shortDir(t), 'main', 'd.sock');
  const running = await startListeners({
    defaultSocket: main,
    listeners,
    service,
    log,
    version: 'test',
  });
  t.teardown(() => closeListeners(running));
  return running;
}

const grouped = (socket: string, group: { name: string; gid: number }): ListenerConfig => ({
  socket,
  policy: { name: socket, allow: ['acme/*'], group: group.name },
  access: { group },
});

t.test('a listener for a group gets a 0660 socket of that group in a 0710 directory', async (t) => {
  const group = otherGroup() ?? { name: 'primary', gid: process.getegid!() };
  const root = await shortDir(t, 0o711);
  const socket = join(root, 'ci', 'd.sock');

  await start(t, [grouped(socket, group)]);

  const made = statSync(join(root, 'ci'));
  t.equal(statSync(socket).mode & 0o777, 0o660, 'socket 0660');
  t.equal(statSync(socket).gid, group.gid, 'socket of the group');
  t.equal(made.mode & 0o777, 0o710, 'the directory it made: the group may pass, not list');
  t.equal(made.gid, group.gid);
});

t.test('a socket directory the group cannot search stops the start with the fix', async (t) => {
  const group = otherGroup() ?? { name: 'primary', gid: process.getegid!() };
  const root = await shortDir(t, 0o711);
  const closed = join(root, 'closed');
  mkdirSync(closed, { mode: 0o700 });
  const gid = statSync(closed).gid;
  const before = statSync(closed).mode;

  await t.rejects(start(t, [grouped(join(closed, 'd.sock'), group)]), {
    code: 'CONFIG',
    message:
      gid === group.gid
        ? `socket directory '${closed}' does not let group '${group.name}' reach the socket (mode 700, group ${gid}); run: chgrp ${group.name} '${closed}' && chmod 710 '${closed}'`
        : /does not let group .* reach the socket/,
  });
  t.equal(statSync(closed).mode, before, 'a directory it did not make is never changed');
});

t.test('a directory above that blocks the group is named, with the fix', async (t) => {
  const group = otherGroup() ?? { name: 'primary', gid: process.getegid!() };
  const root = await shortDir(t, 0o700);

  await t.rejects(start(t, [grouped(join(root, 'ci', 'd.sock'), group)]), {
    code: 'CONFIG',
    message: `directory '${root}' above socket directory '${join(root, 'ci')}' does not let group '${group.name}' through (mode 700, group ${statSync(root).gid}), so its members cannot reach the socket; run: chmod o+x '${root}' (or: chgrp ${group.name} '${root}' && chmod g+x '${root}'), or put the socket elsewhere`,
  });
  t.equal(statSync(root).mode & 0o777, 0o700, 'left as it was');
});

t.test('a socket directory others may write to is refused', async (t) => {
  const group = otherGroup() ?? { name: 'primary', gid: process.getegid!() };
  const root = await shortDir(t, 0o711);
  const shared = join(root, 'shared');
  mkdirSync(shared);
  chownSync(shared, -1, group.gid);
  chmodSync(shared, 0o770);

  await t.rejects(start(t, [grouped(join(shared, 'd.sock'), group)]), {
    code: 'CONFIG',
    message: `socket directory '${shared}' is writable by other users (mode 770, group ${group.gid}), who could replace the socket; run: chmod 710 '${shared}'`,
  });
});

t.test('group and mode in the config: what is accepted, what is refused', async (t) => {
  const fields = (object: Record<string, unknown>) =>
    new ConfigFields('/etc/broker.json', 'listeners[0]', object);
  const user = { euid: 1000, egid: 1000, groups: [1000] };
  const root = { euid: 0, egid: 0, groups: [] };

  t.equal(await parseGroupAccess(fields({}), user), undefined, 'neither: 0600');
  t.equal(await parseGroupAccess(fields({ mode: '0600' }), user), undefined);
  t.same(await parseGroupAccess(fields({ mode: '0660' }), user), {
    group: { name: '1000', gid: 1000 },
  });
  t.same(await parseGroupAccess(fields({ group: 4242 }), root), {
    group: { name: '4242', gid: 4242 },
  });
  await t.rejects(parseGroupAccess(fields({ group: 4242 }), user), {
    code: 'CONFIG',
    message:
      "config '/etc/broker.json': listeners[0].group names group '4242' (gid 4242), which this daemon's user (uid 1000) is not a member of, so it cannot give the socket to it; add the user to the group (usermod -aG 4242 USER) and start the daemon from a new login, or name a group it is in (id -Gn lists them)",
  });
  await t.rejects(parseGroupAccess(fields({ group: 'gcb-no-such-group-here' }), root), {
    message:
      "config '/etc/broker.json': listeners[0].group names group 'gcb-no-such-group-here', which this machine does not know (not in /etc/group, nor from getent); create it (groupadd gcb-no-such-group-here) or name an existing group",
  });
  for (const mode of [660, '0666', '0606', '0777', '0640']) {
    await t.rejects(
      parseGroupAccess(fields({ mode }), root),
      {
        message:
          /mode must be "0600" \(this user only\) or "0660".*Other users are never given access/,
      },
      `mode ${JSON.stringify(mode)}`,
    );
  }
  await t.rejects(parseGroupAccess(fields({ mode: '0600', group: 4242 }), root), {
    message: /group has no effect with "mode": "0600"/,
  });
  await t.rejects(parseGroupAccess(fields({ group: 'a b' }), root), {
    message: /group must be a group name or a gid, got "a b"/,
  });
});

t.test(
  'not a member of the group: refused as a config error by the real process',
  { skip: isRoot ? 'root may give a socket to any group' : false },
  async (t) => {
    const mine = new Set(process.getgroups!());
    const foreign = readFileSync('/etc/group', 'utf8')
      .split('\n')
      .map((line) => line.split(':'))
      .find(([name, , gid]) => name && gid && /^[0-9]+$/.test(gid) && !mine.has(Number(gid)));
    if (foreign === undefined) {
      t.pass('every group here is this user’s: nothing to try');
      return;
    }

    await t.rejects(
      parseGroupAccess(new ConfigFields('/c.json', 'listeners[0]', { group: foreign[0] })),
      { code: 'CONFIG', message: /is not a member of/ },
    );
  },
);

/** Pings the socket as uid 65534 with the given supplementary groups; resolves its output. */
function pingAsNobody(socket: string, groups: number[]): Promise<string> {
  const script = `const s=require('node:net').connect(process.argv[1]);
s.on('connect',()=>s.write(JSON.stringify({v:${PROTOCOL_VERSION},op:'ping'})+'\\n'));
s.on('data',(d)=>{process.stdout.write(String(d).includes('"ok":true')?'answered':'other');s.destroy()});
s.on('error',(e)=>process.stdout.write(e.code));`;
  const groupArgs = groups.length === 0 ? ['--clear-groups'] : [`--groups=${groups.join(',')}`];
  return new Promise((resolve) => {
    execFile(
      'setpriv',
      ['--reuid=65534', '--regid=65534', ...groupArgs, process.execPath, '-e', script, socket],
      // Not tap's environment: its NODE_OPTIONS would have nobody write
      // coverage files into this checkout.
      { timeout: 10_000, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } },
      (_error, stdout) => resolve(stdout),
    );
  });
}

t.test(
  'a client of another uid connects through the group, and not without it',
  { skip: isRoot ? false : 'needs root to run a client as another uid' },
  async (t) => {
    const group = otherGroup();
    if (group === undefined) {
      t.pass('no group to use here');
      return;
    }
    const root = await shortDir(t, 0o711);
    const socket = join(root, 'ci', 'd.sock');
    const privateSocket = join(root, 'own', 'd.sock');
    mkdirSync(join(root, 'own'), { mode: 0o700 });

    await start(t, [
      grouped(socket, group),
      { socket: privateSocket, policy: { name: privateSocket } },
    ]);

    t.equal(await pingAsNobody(socket, [group.gid]), 'answered', 'a member of the group');
    t.equal(await pingAsNobody(socket, []), 'EACCES', 'the same uid outside the group');
    t.equal(await pingAsNobody(privateSocket, [group.gid]), 'EACCES', 'a 0600 listener');
  },
);
