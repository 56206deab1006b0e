import { spawn } from 'node:child_process';
import t from 'tap';
import { processExists } from '../../helper/process-exists.js';

t.test('a process that exited counts as gone even before it is reaped', async (t) => {
  // sh starts a short child, prints its pid, then becomes `sleep`, which
  // never reaps it: the child stays a zombie while sleep runs.
  const parent = spawn('sh', ['-c', 'sleep 0 & echo $!; exec sleep 5'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  t.teardown(() => parent.kill());
  const zombie = Number(
    await new Promise<string>((resolve) => parent.stdout.once('data', (d) => resolve(String(d)))),
  );
  // Until the child has exited, it runs.
  for (let i = 0; i < 100 && processExists(zombie); i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }

  t.equal(processExists(zombie), false, 'a zombie is not running');
  t.equal(processExists(parent.pid!), true, 'its parent, still sleeping, is');
  t.equal(processExists(process.pid), true);
});

t.test('without /proc, a process that answers signal 0 runs', async (t) => {
  // Found in review: where /proc is missing, every process read as gone, so
  // stop said "stopped" while the daemon still answered.
  const { syncBuiltinESMExports } = await import('node:module');
  const fs = (await import('node:fs')).default;
  const { readFileSync, existsSync } = fs;
  const noProc = (path: unknown): boolean => String(path).startsWith('/proc/');
  fs.readFileSync = ((path: string, ...rest: never[]) => {
    if (noProc(path)) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
    return readFileSync(path, ...rest);
  }) as typeof readFileSync;
  fs.existsSync = ((path: string) => !noProc(path) && existsSync(path)) as typeof existsSync;
  syncBuiltinESMExports();
  t.teardown(() => {
    fs.readFileSync = readFileSync;
    fs.existsSync = existsSync;
    syncBuiltinESMExports();
  });

  t.equal(processExists(process.pid), true);
});
