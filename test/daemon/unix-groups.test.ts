import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import {
  gidInGroupFile,
  lookUpGid,
  lookUpGroup,
  mayUseGroup,
  nameInGroupFile,
} from '../../daemon/unix-groups.js';

const GROUP_FILE = 'root:x:0:\nci-sandbox:x:4242:alice,bob\nbroken:x:abc:\n';

t.test('a group name is found in the group file with its gid', async (t) => {
  const file = join(t.testdir(), 'group');
  writeFileSync(file, GROUP_FILE);

  t.same(await lookUpGroup('ci-sandbox', file), { name: 'ci-sandbox', gid: 4242 });
  t.same(await lookUpGroup(4242, file), { name: '4242', gid: 4242 }, 'a gid is taken as it is');
  t.equal(gidInGroupFile(GROUP_FILE, 'broken'), undefined, 'a line without a numeric gid');
  t.equal(gidInGroupFile(GROUP_FILE, 'ci'), undefined, 'no prefix matching');
});

t.test('a group neither the file nor getent knows resolves to nothing', async (t) => {
  const file = join(t.testdir(), 'group');
  writeFileSync(file, GROUP_FILE);

  t.equal(await lookUpGroup('gcb-no-such-group-here', file), undefined);
  t.equal(await lookUpGroup('gcb-no-such-group-here', join(t.testdir(), 'missing')), undefined);
});

t.test('only root or a member may give a socket to a group', async (t) => {
  const user = { euid: 1000, egid: 1000, groups: [1000, 27] };

  t.ok(mayUseGroup(1000, user), 'its primary group');
  t.ok(mayUseGroup(27, user), 'a secondary group');
  t.notOk(mayUseGroup(4242, user), 'a group it is not in');
  t.ok(mayUseGroup(4242, { euid: 0, egid: 0, groups: [] }), 'root: any group');
});

t.test('a gid is named as the group file names it, or marked unknown', async (t) => {
  const file = join(t.testdir(), 'group');
  writeFileSync(file, GROUP_FILE);

  t.same(await lookUpGid(4242, file), { group: { name: 'ci-sandbox', gid: 4242 } });
  t.same(await lookUpGid(4_000_000_001, file), {
    group: { name: '4000000001', gid: 4_000_000_001 },
    unknown: true,
  });
  t.equal(nameInGroupFile(GROUP_FILE, 42), undefined, 'no prefix matching on the gid');
});
