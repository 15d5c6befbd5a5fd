// `npm run bench`: the storage layer (run.ts), then the WASI level (wasi.ts), each with the same
// command-line options (--runs, --scale; wasi.ts ignores --warm-only).

import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

for (const script of ['run.js', 'wasi.js']) {
  execFileSync(process.execPath, [fileURLToPath(new URL(`./${script}`, import.meta.url)), ...process.argv.slice(2)], { stdio: 'inherit' });
}
