import { lchownSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { checkLinksOnPath, walkPath } from '../../daemon/links-on-path.js';

const asRoot = process.getuid?.() === 0;

t.test(
  'walks links as the kernel does: relative targets, .. after a link, a missing tail',
  async (t) => {
    const dir = t.testdir({ real: { sub: {} }, a: {} });
    symlinkSync('../real/sub', join(dir, 'a', 'link'));
    // Not join(): it would fold the '..' away before the kernel sees it.
    symlinkSync(`${join(dir, 'a', 'link')}/..`, join(dir, 'up'));

    const walked = walkPath(join(dir, 'up', 'sub', 'not-yet', 'd'));

    t.equal(walked.resolved, join(dir, 'real', 'sub', 'not-yet', 'd'));
    t.same(
      walked.links.map(({ path, holder }) => [path, holder]),
      [
        [join(dir, 'up'), dir],
        [join(dir, 'a', 'link'), join(dir, 'a')],
      ],
    );
  },
);

t.test('a loop of links is refused rather than followed for ever', async (t) => {
  const dir = t.testdir({});
  symlinkSync(join(dir, 'b'), join(dir, 'a'));
  symlinkSync(join(dir, 'a'), join(dir, 'b'));

  t.throws(() => walkPath(join(dir, 'a', 'd.sock')), {
    code: 'CONFIG',
    message:
      /passes through more than 40 symbolic links \(a loop\?\); give the socket a path without them/,
  });
});

t.test(
  "a link of another user is refused however deep it is met; one of this user's is fine",
  { skip: asRoot ? false : 'needs root to give a link to someone else' },
  async (t) => {
    const dir = t.testdir({ real: {} });
    symlinkSync(join(dir, 'real'), join(dir, 'theirs'));
    lchownSync(join(dir, 'theirs'), 4242, 4242);
    symlinkSync(join(dir, 'real'), join(dir, 'own'));
    mkdirSync(join(dir, 'hop'));
    symlinkSync('../theirs', join(dir, 'hop', 'via'));

    t.doesNotThrow(() => checkLinksOnPath(join(dir, 'own', 'd.sock')));
    t.throws(() => checkLinksOnPath(join(dir, 'hop', 'via', 'x', 'd.sock')), {
      code: 'CONFIG',
      message: `socket path '${join(dir, 'hop', 'via', 'x', 'd.sock')}' passes through symbolic link '${join(dir, 'theirs')}', which belongs to uid 4242: that user could point it elsewhere and put another socket where git's helper connects; use the path it resolves to, '${join(dir, 'real', 'x', 'd.sock')}', or a link that only root or this user (uid 0) own`,
    });
  },
);
