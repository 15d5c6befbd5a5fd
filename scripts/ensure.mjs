#!/usr/bin/env node
// Set-up that `npm start`, `npm test`, `npm run build` and `npm run bench` do for themselves on a
// fresh Debian 12 machine. Each argument names a step:
//   deps      npm packages (npm ci) when node_modules is missing or older than package-lock.json
//   rust      Debian's Rust with the wasm32 standard library and lld, to build the L1 server (l1/)
//   chromium  Debian's chromium, the browser the tests and benchmarks drive
//   firefox   Debian's firefox-esr, the second browser the tests and benchmarks drive
//   wasi      clang, lld, wasi-libc and the wasm32 builtins, to compile the WASI test programs
//   guest     the default x86 guest in guest/out (guest/build.sh decides what is stale)
//   oci       the OCI image fixtures in test/oci/out (test/oci/build.sh; needs the guest's busybox .deb)
//   snapshot  the default guest's boot snapshot in guest/out, made when missing or stale: the guest
//             booted once in Chromium (scripts/boot-snapshot.ts; needs deps, the guest and chromium)
// Debian packages missing for all the steps asked are installed in one apt run (scripts/apt.sh).
// Plain JavaScript with no dependencies, since it runs before any package is installed.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: 'inherit' });

/** What each step needs from Debian: a file that shows the package is there, and why it is needed. */
const debianNeeds = {
  rust: [
    { pkg: 'rustc', path: '/usr/bin/rustc', why: 'the Rust compiler, to build the L1 server (l1/)' },
    { pkg: 'cargo', path: '/usr/bin/cargo', why: 'Rust\'s build tool, to build the L1 server (l1/)' },
    { pkg: 'libstd-rust-dev-wasm32', path: '/usr/lib/rustlib/wasm32-unknown-unknown', why: 'Rust\'s wasm32 standard library, to build the L1 server' },
    { pkg: 'lld', path: '/usr/bin/rust-lld', why: 'the linker rustc uses for wasm32 (rust-lld)' },
  ],
  chromium: [
    { pkg: 'chromium', path: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', why: 'the browser the tests drive (or set CHROMIUM_PATH to a Chromium executable)' },
  ],
  firefox: [
    { pkg: 'firefox-esr', path: process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr', why: 'the second browser the tests drive (or set FIREFOX_PATH to a Firefox executable)' },
  ],
  wasi: [
    { pkg: 'clang', path: '/usr/bin/clang', why: 'the C compiler for the WASI test programs (test/wasi/)' },
    { pkg: 'lld', path: '/usr/bin/wasm-ld', why: 'the wasm linker for the WASI test programs' },
    { pkg: 'wasi-libc', path: '/usr/lib/wasm32-wasi/libc.a', why: 'the C library for the WASI test programs' },
    { pkg: 'libclang-rt-14-dev-wasm32', path: '/usr/lib/llvm-14/lib/clang/14.0.6/lib/wasi/libclang_rt.builtins-wasm32.a', why: 'clang\'s wasm32 builtins' },
  ],
  oci: [
    { pkg: 'mmdebstrap', path: '/usr/bin/mmdebstrap', why: 'builds the Debian 12 i386 image the OCI tests boot (test/oci/build.sh)' },
    { pkg: 'arch-test', path: '/usr/bin/arch-test', why: 'lets mmdebstrap check that this machine runs i386 programs' },
  ],
};

function installDebianPackages(steps) {
  const missing = steps.flatMap((step) => debianNeeds[step === 'snapshot' ? 'chromium' : step] ?? []).filter((need) => !existsSync(need.path));
  if (missing.length === 0) return;
  const packages = [...new Set(missing.map((need) => need.pkg))];
  if (!existsSync('/usr/bin/apt-get')) {
    console.error('This machine has no apt-get, so these cannot be installed for you:');
    for (const need of missing) console.error(`- ${need.path}: ${need.why}. On Debian: apt-get install ${need.pkg}`);
    process.exit(1);
  }
  try {
    run('bash', [join(root, 'scripts', 'apt.sh'), 'install', ...packages]);
  } catch {
    process.exit(1); // apt.sh said what failed
  }
  const stillMissing = missing.filter((need) => !existsSync(need.path));
  for (const need of stillMissing) console.error(`${need.pkg} is installed but ${need.path} is missing: ${need.why}.`);
  if (stillMissing.length) process.exit(1);
}

function ensureDeps() {
  const marker = join(root, 'node_modules', '.package-lock.json');
  const lock = join(root, 'package-lock.json');
  if (existsSync(marker) && statSync(marker).mtimeMs >= statSync(lock).mtimeMs) return;
  console.log('Installing npm packages (npm ci)…');
  // Errors only: npm warns about engines (some dev tools declare Node 22) for every package, which
  // run fine on Node 20 here and would bury what matters on a first run.
  run('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error']);
}

function ensureGuest() {
  try {
    run('bash', [join(root, 'guest', 'build.sh')]);
  } catch {
    console.error('Could not build the default guest (see the messages above; guest/README.md says what it needs).');
    process.exit(1);
  }
}

/**
 * Whether guest/out/manifest.json names a boot snapshot made from this very guest (its id) by the
 * v86 installed: guest/build.sh drops the entry and the state file whenever it rebuilds the guest.
 */
function bootSnapshotIsCurrent() {
  const out = join(root, 'guest', 'out');
  const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
  const v86 = JSON.parse(readFileSync(join(root, 'node_modules', 'v86', 'package.json'), 'utf8')).version;
  const snapshot = manifest.snapshot;
  return !!snapshot && snapshot.manifest === manifest.id && snapshot.v86 === v86 &&
    existsSync(join(out, snapshot.state)) && statSync(join(out, snapshot.state)).size > 0;
}

function ensureBootSnapshot() {
  if (bootSnapshotIsCurrent()) return;
  console.log('Making the default guest\'s boot snapshot: booting it once in Chromium (a minute or two)…');
  try {
    run('npm', ['run', 'build:ts']);
    run('node', [join(root, 'build', 'scripts', 'boot-snapshot.js')]);
  } catch {
    // Not fatal: without it the element boots the guest instead of resuming it.
    console.error('Could not make the boot snapshot (see the messages above): the default guest will boot cold.');
  }
}

function ensureOciFixtures() {
  try {
    run('bash', [join(root, 'test', 'oci', 'build.sh')]);
  } catch {
    console.error('Could not build the OCI image fixtures (see the messages above; test/oci/build.sh says what it needs).');
    process.exit(1);
  }
}

const steps = process.argv.slice(2);
for (const step of steps) {
  if (!['deps', 'guest', 'oci', 'snapshot', ...Object.keys(debianNeeds)].includes(step)) throw new Error(`unknown set-up step ${step}`);
}
installDebianPackages(steps);
if (steps.includes('deps')) ensureDeps();
if (steps.includes('guest') || steps.includes('oci') || steps.includes('snapshot')) ensureGuest();
if (steps.includes('snapshot')) ensureBootSnapshot();
if (steps.includes('oci')) ensureOciFixtures();
