#!/usr/bin/env node
// Builds L1 (l1/, Rust) into l1/target/wasm32-unknown-unknown/release/l1.wasm when the .wasm is
// missing or older than the crate's sources. Uses Debian's toolchain (packages rustc, cargo and
// libstd-rust-dev-wasm32): /usr/bin/cargo with RUSTC=/usr/bin/rustc, since a rustup toolchain
// first on PATH may lack the wasm32 target. `node scripts/build-l1.mjs --test` runs the crate's
// unit tests on the host instead.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const crate = join(root, 'l1');
export const l1Wasm = join(crate, 'target', 'wasm32-unknown-unknown', 'release', 'l1.wasm');
const cargo = process.env.L1_CARGO ?? '/usr/bin/cargo';
const rustc = process.env.L1_RUSTC ?? '/usr/bin/rustc';

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}

function requireToolchain(target) {
  const missing = [];
  if (!existsSync(cargo)) missing.push(`cargo (${cargo})`);
  if (!existsSync(rustc)) missing.push(`rustc (${rustc})`);
  if (target === 'wasm32' && !existsSync('/usr/lib/rustlib/wasm32-unknown-unknown')) missing.push('the wasm32-unknown-unknown standard library');
  if (target === 'wasm32' && !existsSync('/usr/bin/rust-lld')) missing.push('the linker rust-lld');
  if (missing.length) {
    console.error(`Building the L1 server (l1/) needs ${missing.join(', ')}. Run: node scripts/ensure.mjs rust (on Debian 12 it installs rustc cargo libstd-rust-dev-wasm32 lld)`);
    process.exit(1);
  }
}

function cargoRun(args) {
  execFileSync(cargo, args, { cwd: crate, stdio: 'inherit', env: { ...process.env, RUSTC: rustc } });
}

/** Builds l1.wasm if needed and returns its path. */
export function ensureL1() {
  const sources = Math.max(newestSource(join(crate, 'src')), statSync(join(crate, 'Cargo.toml')).mtimeMs);
  if (existsSync(l1Wasm) && statSync(l1Wasm).mtimeMs >= sources) return l1Wasm;
  requireToolchain('wasm32');
  console.log('Building the L1 server (cargo build --release --target wasm32-unknown-unknown)…');
  cargoRun(['build', '--release', '--target', 'wasm32-unknown-unknown', '--quiet']);
  return l1Wasm;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--test')) {
    requireToolchain('host');
    cargoRun(['test', '--quiet']);
  } else {
    ensureL1();
  }
}
