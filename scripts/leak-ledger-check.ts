/**
 * tap `after`: searches every output the suite recorded for every secret it
 * created (see test/fixtures/leak-ledger.ts). A hit fails the run; the
 * report names the output and the secret's fingerprint, never the secret.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { REPO_ROOT } from '../test/fixtures/repo-root.js';
import { join } from 'node:path';
import { LEDGER_DIR } from '../test/fixtures/leak-ledger.js';

let files: string[] = [];
try {
  files = readdirSync(LEDGER_DIR);
} catch {
  // Nothing recorded: nothing can have leaked.
}

const secrets = new Set<string>();
for (const file of files.filter((name) => name.startsWith('secrets-'))) {
  for (const line of readFileSync(join(LEDGER_DIR, file), 'utf8').split('\n')) {
    if (line.length >= 8) secrets.add(line);
  }
}

// What every test file printed, as tap kept it, is output too.
const RESULTS_DIR = join(REPO_ROOT, '.tap', 'test-results');
let results: string[] = [];
try {
  results = readdirSync(RESULTS_DIR, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.tap'))
    .map((file) => join(RESULTS_DIR, file));
} catch {
  // tap kept no results.
}

const leaks: string[] = [];
const outputFiles = [
  ...files.filter((name) => name.startsWith('output-')).map((file) => join(LEDGER_DIR, file)),
  ...results,
];
for (const file of outputFiles) {
  const text = readFileSync(file, 'utf8');
  const fromLedger = file.startsWith(LEDGER_DIR);
  let name = fromLedger ? text.slice(0, text.indexOf('\n')) : 'tap output';
  for (const secret of secrets) name = name.split(secret).join('<a secret>');
  // The first line of a ledger file is the test's label for the output (a
  // command line, which a test may give a secret on purpose), not output.
  const body = fromLedger ? text.slice(text.indexOf('\n') + 1) : text;
  for (const secret of secrets) {
    if (body.includes(secret)) {
      const sha = createHash('sha256').update(secret).digest('hex').slice(0, 12);
      leaks.push(`${name} (${file}) holds secret sha256:${sha}...`);
    }
  }
}

if (leaks.length > 0) {
  process.stderr.write(`leak check: ${leaks.length} secret(s) found in test output:\n`);
  for (const leak of leaks) process.stderr.write(`  ${leak}\n`);
  process.exitCode = 1;
} else {
  process.stdout.write(
    `leak check: ${secrets.size} secrets searched for in ${outputFiles.length} outputs, none found\n`,
  );
}
