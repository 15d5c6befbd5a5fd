#!/usr/bin/env node
// Set-up that `npm start`, `npm test` and `npm run bench` do for themselves on a fresh machine:
//   deps      npm packages (npm ci) when node_modules is missing or older than package-lock.json
//   chromium  Debian's chromium (apt-get) when /usr/bin/chromium is missing
//   guest     the default x86 guest in guest/out (guest/build.sh decides what is stale)
//   wasi      clang, lld, wasi-libc and the wasm32 builtins (apt-get) to compile the WASI test programs
// Plain JavaScript with no dependencies, since it runs before any package is installed.
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: 'inherit' });

function ensureDeps() {
  const marker = join(root, 'node_modules', '.package-lock.json');
  const lock = join(root, 'package-lock.json');
  if (existsSync(marker) && statSync(marker).mtimeMs >= statSync(lock).mtimeMs) return;
  console.log('Installing npm packages (npm ci)…');
  run('npm', ['ci', '--no-audit', '--no-fund']);
}

function ensureChromium() {
  const path = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (existsSync(path)) return;
  const isRoot = process.getuid?.() === 0;
  const hasApt = existsSync('/usr/bin/apt-get');
  if (!hasApt) {
    console.error(`Chromium is needed at ${path} and this machine has no apt-get. Install Chromium and set CHROMIUM_PATH to its executable.`);
    process.exit(1);
  }
  const apt = (...args) => (isRoot ? run('apt-get', args) : run('sudo', ['apt-get', ...args]));
  console.log('Installing Debian\'s chromium (apt-get)…');
  try {
    apt('update', '-qq');
    apt('install', '-y', '-qq', '--no-install-recommends', 'chromium');
  } catch {
    console.error('Could not install chromium. Run: sudo apt-get install chromium (or set CHROMIUM_PATH).');
    process.exit(1);
  }
}

function ensureWasiToolchain() {
  const needed = {
    clang: '/usr/bin/clang',
    lld: '/usr/bin/wasm-ld',
    'wasi-libc': '/usr/lib/wasm32-wasi/libc.a',
    'libclang-rt-14-dev-wasm32': '/usr/lib/llvm-14/lib/clang/14.0.6/lib/wasi/libclang_rt.builtins-wasm32.a',
  };
  const missing = Object.entries(needed).filter(([, path]) => !existsSync(path)).map(([name]) => name);
  if (missing.length === 0) return;
  const isRoot = process.getuid?.() === 0;
  const apt = (...args) => (isRoot ? run('apt-get', args) : run('sudo', ['apt-get', ...args]));
  console.log(`Installing Debian's ${missing.join(', ')} (apt-get) to compile the WASI test programs…`);
  try {
    apt('update', '-qq');
    apt('install', '-y', '-qq', '--no-install-recommends', ...missing);
  } catch {
    console.error(`Could not install ${missing.join(' ')}. Run: sudo apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32`);
    process.exit(1);
  }
}

function ensureGuest() {
  try {
    run('bash', [join(root, 'guest', 'build.sh')]);
  } catch {
    console.error('Could not build the default guest (see the messages above; guest/README.md says what it needs).');
    process.exit(1);
  }
}

for (const what of process.argv.slice(2)) {
  if (what === 'deps') ensureDeps();
  else if (what === 'chromium') ensureChromium();
  else if (what === 'guest') ensureGuest();
  else if (what === 'wasi') ensureWasiToolchain();
  else throw new Error(`unknown set-up step ${what}`);
}
