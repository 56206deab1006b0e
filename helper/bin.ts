#!/usr/bin/env node
/**
 * The installed binary, bundled into one CommonJS file
 * (dist/helper/git-credential-broker.cjs) because git starts it for every
 * credential: one file to read and no ES module loader to boot keeps its
 * start close to bare `node`. It answers git itself; anything else is a
 * command for people, handed to the ES module build in main.js.
 */
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exitQuietlyWhenStdoutCloses } from './closed-stdout.js';
import { parseGitInvocation, runGitInvocation } from './git-invocation.js';

exitQuietlyWhenStdoutCloses();

// No top-level await: a CommonJS bundle cannot have one.
const invocation = parseGitInvocation(process.argv.slice(2));
if (invocation === undefined) {
  import('./main.js').catch((error: unknown) => {
    const { message } = error as Error;
    process.stderr.write(
      `git-credential-broker: cannot run this command: ${message}\n` +
        `(git actions work from this file alone; the other commands need the rest of the ` +
        `package beside it, in ${dirname(fileURLToPath(import.meta.url))}; reinstall git-credential-broker)\n`,
    );
    process.exitCode = 1;
  });
} else {
  void runGitInvocation(invocation).then((code) => {
    process.exitCode = code;
  });
}
