import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { kernelFilesystemAt, makeDirectories } from '../../shared/make-directories.js';

const linux = process.platform === 'linux';

t.test(
  'paths on /proc and /sys are found by their nearest existing directory',
  { skip: linux ? false : 'kernel file systems are told apart on Linux only' },
  async (t) => {
    t.same(kernelFilesystemAt('/proc/self/gcb/x/y.log'), {
      at: '/proc/self',
      filesystem: 'procfs',
    });
    t.same(kernelFilesystemAt('/proc'), { at: '/proc', filesystem: 'procfs' });
    t.same(kernelFilesystemAt('/sys/gcb/x'), { at: '/sys', filesystem: 'sysfs' });
    t.equal(kernelFilesystemAt(join(t.testdir(), 'a', 'b')), undefined, 'an ordinary directory');
  },
);

t.test(
  'refuses to create directories on /proc, naming the path and the fix, without hanging',
  { skip: linux ? false : 'Linux only', timeout: 10_000 },
  async (t) => {
    t.throws(() => makeDirectories('/proc/self/gcb/x', "the log '/proc/self/gcb/x/y.log'", 'fix'), {
      code: 'CONFIG',
      message:
        "cannot create the log '/proc/self/gcb/x/y.log': '/proc/self' is on procfs, a file system the kernel makes up, where nothing can be created; fix",
    });
    t.same(
      makeDirectories('/proc/self/fd', 'x', 'y'),
      [],
      'one that exists needs nothing made: /proc/self/fd/1 as an audit log still opens',
    );
  },
);

t.test('creates the missing levels 0700 and says which, outermost first', async (t) => {
  const dir = t.testdir();
  const previous = process.umask(0);
  t.teardown(() => process.umask(previous));

  const made = makeDirectories(join(dir, 'a', 'b'), 'x', 'y');

  t.same(made, [join(dir, 'a'), join(dir, 'a', 'b')]);
  t.equal(statSync(join(dir, 'a')).mode & 0o777, 0o700);
  t.same(makeDirectories(join(dir, 'a', 'b'), 'x', 'y'), [], 'nothing new the second time');
  t.ok(existsSync(join(dir, 'a', 'b')));
});
