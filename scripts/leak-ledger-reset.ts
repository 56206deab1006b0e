/** tap `before`: starts the suite with an empty leak ledger. */
import { rmSync } from 'node:fs';
import { LEDGER_DIR } from '../test/fixtures/leak-ledger.js';

rmSync(LEDGER_DIR, { recursive: true, force: true });
