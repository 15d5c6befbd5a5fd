#!/usr/bin/env node
// After tsc: puts the non-TypeScript files the browser code needs beside it in build/src, in the
// same places rollup puts them in dist/ (so `new URL('./v86.wasm', import.meta.url)` works in both).
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureL1 } from './build-l1.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'build', 'src');
mkdirSync(join(out, 'element'), { recursive: true });
mkdirSync(join(out, 'engines'), { recursive: true });

copyFileSync(join(root, 'node_modules/v86/build/v86.wasm'), join(out, 'v86.wasm'));
// Which v86 the engine runs: an image's shipped snapshot names the v86 that saved it.
const v86Build = JSON.parse(readFileSync(join(root, 'node_modules/v86/package.json'), 'utf8')).version;
writeFileSync(join(out, 'engines', 'v86-build.js'), `export const v86Build = ${JSON.stringify(v86Build)};\n`);
// The L1 server, built from l1/ when its sources changed; the storage worker loads it from beside itself.
copyFileSync(ensureL1(), join(out, 'l1.wasm'));

// xterm's stylesheet, as a module: the terminal lives in the element's shadow root, where a
// document-level <link> would not reach.
const css = readFileSync(join(root, 'node_modules/@xterm/xterm/css/xterm.css'), 'utf8');
writeFileSync(join(out, 'element', 'xterm-styles.js'), `export const xtermCss = ${JSON.stringify(css)};\n`);
