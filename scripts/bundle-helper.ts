/**
 * Bundles the helper's git path (helper/bin.ts) into one CommonJS file,
 * dist/helper/git-credential-broker.cjs: the installed binary. Git starts
 * the helper for every credential, and one CommonJS file starts about as
 * fast as bare `node`, where the ES module build pays for its loader and a
 * file read per module (bench/helper.bench.ts measures the difference).
 * Everything that is not a git action stays in the ES module build and is
 * imported from it at run time.
 */
import { chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'esbuild';
import { REPO_ROOT } from '../test/fixtures/repo-root.js';

const BUNDLE_NAME = 'git-credential-broker.cjs';

const outfile = join(REPO_ROOT, 'dist', 'helper', BUNDLE_NAME);

const result = await build({
  entryPoints: [join(REPO_ROOT, 'helper', 'bin.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20.19',
  // The command-line build stays a separate ES module, loaded only for people.
  external: ['./main.js'],
  // Sibling files (main.js for autostart) are found from the bundle's own path.
  define: { 'import.meta.url': '__bundleUrl' },
  banner: {
    js: `"use strict";\nconst __bundleUrl = require('node:url').pathToFileURL(__filename).href;`,
  },
  logLevel: 'warning',
});
if (result.errors.length > 0 || result.warnings.length > 0) {
  process.stderr.write('bundle-helper: esbuild reported problems; see above\n');
  process.exit(1);
}
await chmod(outfile, 0o755);
