/**
 * Listener sockets open to a group, for real: sockets and directories on
 * disk, their modes and groups, and (as root) clients of another uid
 * connecting through the group. Users cannot be created here; what needs
 * another identity is run as `nobody` through setpriv, when that is possible.
 */
import { execFile } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readFileSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import t, { type Test } from 'tap';
import { ConfigFields } from '../../daemon/config-fields.js';
import type { ListenerConfig } from '../../daemon/listener-config.js';
import { closeListeners, startListeners } from '../../daemon/listener.js';
import { parseGroupAccess } from '../../daemon/socket-access.js';
import { PROTOCOL_VERSION } from '../../shared/protocol.js';
import type { CredentialService } from '../../daemon/credential-service.js';
import { cleanEnv } from '../fixtures/clean-env.js';
import { stubService } from '../fixtures/stub-service.js';

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
  const service = await stubService(join(t.testdir(), 'audit.log'));
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
    message:
      statSync(root).gid === group.gid
        ? /run: chmod g\+x/
        : `directory '${root}' above socket directory '${join(root, 'ci')}' does not let group '${group.name}' through (mode 700, owner uid ${statSync(root).uid}, group ${statSync(root).gid}), so its members cannot reach the socket; run: chmod o+x '${root}' (or: chgrp ${group.name} '${root}' && chmod g+x '${root}'), or put the socket elsewhere`,
  });
  t.equal(statSync(root).mode & 0o777, 0o700, 'left as it was');
  t.notOk(existsSync(join(root, 'ci')), 'the directory it made for the socket is removed again');
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
    message: `socket directory '${shared}' is writable by other users (mode 770, owner uid ${statSync(shared).uid}, group ${group.gid}), who could replace the socket; put the socket in a directory of its own, which the daemon creates 0710 for group '${group.name}', under a directory only root or this user can write to`,
  });
  t.equal(statSync(shared).mode & 0o7777, 0o770, 'a directory others use is never changed');
});

t.test(
  'a group socket in a shared sticky directory, as /tmp is, is pointed to a directory of its own there, never told to chmod it',
  async (t) => {
    const group = otherGroup() ?? { name: 'primary', gid: process.getegid!() };
    const root = await shortDir(t, 0o711);
    const sticky = join(root, 'tmp');
    mkdirSync(sticky);
    chmodSync(sticky, 0o1777);

    const refused = start(t, [grouped(join(sticky, 'ci-direct.sock'), group)]);

    const ownDirectory = join(sticky, group.name, 'ci-direct.sock');
    await t.rejects(refused, {
      code: 'CONFIG',
      message: `socket directory '${sticky}' is writable by other users (mode 1777, owner uid ${statSync(sticky).uid}, group ${statSync(sticky).gid}), who could replace the socket; put the socket in a directory of its own, which the daemon creates 0710 for group '${group.name}', for example '${ownDirectory}'`,
    });
    t.equal(statSync(sticky).mode & 0o7777, 0o1777, 'the shared directory is left as it was');

    const listeners = await start(t, [grouped(ownDirectory, group)]);
    t.ok(listeners, 'the advised path is accepted');
    const made = statSync(join(sticky, group.name));
    t.equal(made.mode & 0o7777, 0o710, 'its directory is created 0710');
    t.equal(made.gid, group.gid, 'and given to the group');
  },
);

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

/**
 * Pings the socket as uid 65534 with the given supplementary groups;
 * resolves what it met ('answered', or the connection's error code), once
 * the client is seen to have run cleanly: exit 0, nothing on stderr.
 */
function pingAsNobody(t: Test, socket: string, groups: number[]): Promise<string> {
  const script = `const s=require('node:net').connect(process.argv[1]);
s.on('connect',()=>s.write(JSON.stringify({v:${PROTOCOL_VERSION},op:'ping'})+'\\n'));
s.on('data',(d)=>{process.stdout.write(String(d).includes('"ok":true')?'answered':'other');s.destroy()});
s.on('error',(e)=>process.stdout.write(e.code));`;
  const groupArgs = groups.length === 0 ? ['--clear-groups'] : [`--groups=${groups.join(',')}`];
  return new Promise((resolve) => {
    execFile(
      'setpriv',
      [
        '--reuid=65534',
        '--regid=65534',
        ...groupArgs,
        ...cleanEnv(),
        process.execPath,
        '-e',
        script,
        socket,
      ],
      { timeout: 10_000 },
      (error, stdout, stderr) => {
        t.equal(error?.code ?? 0, 0, `the client as nobody exits 0 (${socket})`);
        t.equal(stderr, '', 'and says nothing on stderr');
        resolve(stdout);
      },
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

    t.equal(await pingAsNobody(t, socket, [group.gid]), 'answered', 'a member of the group');
    t.equal(await pingAsNobody(t, socket, []), 'EACCES', 'the same uid outside the group');
    t.equal(await pingAsNobody(t, privateSocket, [group.gid]), 'EACCES', 'a 0600 listener');
  },
);

t.test(
  'a directory above that a member could rename entries in stops the start (found in review)',
  { skip: isRoot ? false : 'needs root to give directories to other owners and groups' },
  async (t) => {
    const group = otherGroup();
    if (group === undefined) {
      t.pass('no group to use here');
      return;
    }
    // The reviewer's swap: as a member, move the socket's directory aside
    // and put a socket of one's own in its place. Writable by the group,
    // not sticky, that directory allows it; so does one another user owns.
    const root = await shortDir(t, 0o711);
    const groupWritable = join(root, 'gw');
    mkdirSync(groupWritable);
    chownSync(groupWritable, -1, group.gid);
    chmodSync(groupWritable, 0o770);
    const sticky = join(root, 'sticky');
    mkdirSync(sticky);
    chmodSync(sticky, 0o1777);
    const foreign = join(root, 'foreign');
    mkdirSync(foreign);
    chownSync(foreign, 65534, -1);
    chmodSync(foreign, 0o711);

    await t.rejects(start(t, [grouped(join(groupWritable, 'ci', 'd.sock'), group)]), {
      code: 'CONFIG',
      message: `directory '${groupWritable}' above socket directory '${join(groupWritable, 'ci')}' is writable by members of group ${group.gid} and has no sticky bit (mode 770, owner uid 0, group ${group.gid}), so they could move what is in it aside and put another socket in its place; run: chmod g-w '${groupWritable}' (or chmod +t '${groupWritable}', as /tmp has), or put the socket elsewhere`,
    });
    await t.rejects(start(t, [grouped(join(foreign, 'ci', 'd.sock'), group)]), {
      code: 'CONFIG',
      message: `directory '${foreign}' above socket directory '${join(foreign, 'ci')}' belongs to uid 65534, who could move what is in it aside and put another socket in its place; put the socket under directories that only root or this user (uid 0) own`,
    });
    t.notOk(existsSync(join(groupWritable, 'ci')), 'nothing made is left behind');
    t.notOk(existsSync(join(foreign, 'ci')));
    const socket = join(sticky, 'ci', 'd.sock');
    await start(t, [grouped(socket, group)]);
    t.equal(
      await pingAsNobody(t, socket, [group.gid]),
      'answered',
      'a sticky directory, as /tmp is, is fine: a member cannot move what it does not own',
    );
  },
);

t.test(
  'the group reaches the socket as the kernel decides, through symlinks too (found in review)',
  { skip: isRoot ? false : 'needs root to run a client as another uid' },
  async (t) => {
    const group = otherGroup();
    if (group === undefined) {
      t.pass('no group to use here');
      return;
    }
    const root = await shortDir(t, 0o711);
    // 0701 of the socket's own group: others may pass, its members may not.
    const ownGroupOnly = join(root, 'g701');
    mkdirSync(ownGroupOnly);
    chownSync(ownGroupOnly, -1, group.gid);
    chmodSync(ownGroupOnly, 0o701);
    // A link in an open directory to a socket directory under a closed one.
    const closed = join(root, 'closed');
    mkdirSync(closed, { mode: 0o700 });
    const real = join(closed, 'ci');
    mkdirSync(real);
    chownSync(real, -1, group.gid);
    chmodSync(real, 0o710);
    const link = join(root, 'link');
    symlinkSync(real, link);
    const dangling = join(root, 'dangling');
    symlinkSync(join(root, 'nowhere'), dangling);

    await t.rejects(start(t, [grouped(join(ownGroupOnly, 'ci', 'd.sock'), group)]), {
      code: 'CONFIG',
      message: `directory '${ownGroupOnly}' above socket directory '${join(ownGroupOnly, 'ci')}' does not let group '${group.name}' through (mode 701, owner uid 0, group ${group.gid}), so its members cannot reach the socket; run: chmod g+x '${ownGroupOnly}' (its group is '${group.name}', so its members get the group's bits, not the others'), or put the socket elsewhere`,
    });
    await t.rejects(start(t, [grouped(join(link, 'd.sock'), group)]), {
      code: 'CONFIG',
      message: new RegExp(`directory '${closed}' above socket directory '${link}' does not let`),
    });
    await t.rejects(start(t, [grouped(join(dangling, 'd.sock'), group)]), {
      code: 'CONFIG',
      message: `socket directory '${dangling}' is a symbolic link (or passes through one) to a directory that does not exist; create the directory it points to, or give the socket another path`,
    });

    // What the check said matches what a member meets.
    chmodSync(ownGroupOnly, 0o710);
    chmodSync(closed, 0o711);
    const throughLink = join(link, 'd.sock');
    await start(t, [
      grouped(join(ownGroupOnly, 'ci', 'd.sock'), group),
      grouped(throughLink, group),
    ]);
    t.equal(await pingAsNobody(t, join(ownGroupOnly, 'ci', 'd.sock'), [group.gid]), 'answered');
    t.equal(await pingAsNobody(t, throughLink, [group.gid]), 'answered', 'through the link');
    chmodSync(ownGroupOnly, 0o701);
    t.equal(
      await pingAsNobody(t, join(ownGroupOnly, 'ci', 'd.sock'), [group.gid]),
      'EACCES',
      '0701 of its own group keeps a member out, as the check said',
    );
  },
);

t.test('a socket open to a group beside a private one is refused, naming both', async (t) => {
  const group = otherGroup() ?? { name: 'primary', gid: process.getegid!() };
  const dir = await shortDir(t, 0o711);
  const mainSocket = join(dir, 'main', 'd.sock');
  const besideMain = join(dir, 'main', 'ci.sock');
  const privateOne = join(dir, 'new', 'own.sock');
  const groupOne = join(dir, 'new', 'ci.sock');
  const log = pino({ level: 'silent' });
  const service = {} as CredentialService;
  const startWith = (listeners: ListenerConfig[]) =>
    startListeners({ defaultSocket: mainSocket, listeners, service, log, version: 'test' });

  await t.rejects(startWith([grouped(besideMain, group)]), {
    code: 'CONFIG',
    message: `socket '${besideMain}' (open to group '${group.name}') and socket '${mainSocket}' (this user only) are in one directory '${join(dir, 'main')}', which cannot be private and open to a group at once; give listeners[0].socket a directory of its own, for example '${join(dir, 'main', group.name, 'ci.sock')}'`,
  });
  await t.rejects(
    startWith([{ socket: privateOne, policy: { name: privateOne } }, grouped(groupOne, group)]),
    {
      code: 'CONFIG',
      message: new RegExp(
        `^socket '${groupOne}' .* and socket '${privateOne}' \\(this user only\\) .* give listeners\\[1\\]\\.socket a directory of its own`,
      ),
    },
  );
  t.notOk(existsSync(join(dir, 'main')), 'refused before anything was made');
  t.notOk(existsSync(join(dir, 'new')));
});

t.test('status on a socket open only to a group says why it is refused', async (t) => {
  const group = otherGroup() ?? { name: 'primary', gid: process.getegid!() };
  const root = await shortDir(t, 0o711);
  const socket = join(root, 'ci', 'd.sock');
  const { sendRequest } = await import('../../shared/daemon-client.js');
  const running = await start(t, [
    { socket, policy: { name: socket, group: group.name }, access: { group } },
  ]);
  t.equal(running.length, 2);

  const reply = await sendRequest(socket, { v: PROTOCOL_VERSION, op: 'status' }, 5000);

  t.match(reply, {
    ok: false,
    error: {
      code: 'DENIED',
      message: `'status' is not allowed on socket '${socket}', which is open to group '${group.name}'; ask the operator to run it on the operator's socket`,
    },
  });
});
