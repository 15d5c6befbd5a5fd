// The guest benchmark's page (bench/guest/index.html): boots the default guest either in a
// <container-vm> (share served by M1 over OPFS) or in v86 directly with its in-memory 9p
// filesystem, and runs shell commands on either console. bench/node/guest.ts drives it through
// window.guestBench. `?boot=element` or `?boot=memory` starts that VM as the page loads, so the
// time to the ready marker is measured from navigation start (performance.now()'s origin).

import type { ContainerVm } from '../../src/element/container-vm.js';
import { loadV86Manifest } from '../../src/element/image.js';
import { READY_MARKER } from '../../src/element/ready-marker.js';
import type { BootResult, CommandResult, GuestBenchApi, VmKind } from './guest-protocol.js';
import type { FromGuestV86, ToGuestV86 } from './guest-v86-worker.js';

const params = new URLSearchParams(location.search);
const MANIFEST = params.get('manifest') ?? '/guest/out/manifest.json';
const OPFS_ROOT = params.get('root') ?? '/bench-guest';
const ELEMENT_MODULE = '/build/src/container-vm.js';
const V86_WASM = '/node_modules/v86/build/v86.wasm';
/** What the element appends to the manifest's command line; the reference VM gets the same. */
const MOUNT_ARG = 'cvm.mount=/mnt/opfs';

/** A VM's serial console: what it printed so far, and a way to type. */
interface Console {
  output: string;
  /** performance.now() when the ready marker arrived (taken in the event handler itself). */
  readyAt: number | null;
  send(text: string): void;
  stop(): Promise<void>;
}

const consoles = new Map<VmKind, Console>();
/** The console of a VM still booting, for bootState()'s tail. */
const booting = new Map<VmKind, Console>();
const boots = new Map<VmKind, { result: BootResult | null; error: string | null }>();

function waitFor(predicate: () => boolean, timeoutMs: number, what: string, tail: () => string): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const tick = () => {
      if (predicate()) return resolve();
      if (performance.now() - started > timeoutMs) {
        return reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; console tail: ${JSON.stringify(tail().slice(-400))}`));
      }
      setTimeout(tick, 10);
    };
    tick();
  });
}

async function bootElement(): Promise<Console> {
  await import(ELEMENT_MODULE);
  const vm = document.createElement('container-vm') as ContainerVm;
  vm.setAttribute('src', MANIFEST);
  vm.setAttribute('opfs-root', OPFS_ROOT);
  const c: Console = {
    output: '',
    readyAt: null,
    send: (text) => vm.send(text),
    async stop() {
      const closed = new Promise<void>((resolve) => vm.addEventListener('exit', () => resolve(), { once: true }));
      vm.remove();
      await Promise.race([closed, new Promise((r) => setTimeout(r, 3000))]);
    },
  };
  let error: string | null = null;
  vm.addEventListener('output', (e) => { c.output += (e as CustomEvent<{ text: string }>).detail.text; });
  vm.addEventListener('vm-ready', () => { c.readyAt = performance.now(); }, { once: true });
  vm.addEventListener('error', (e) => { error = (e as unknown as CustomEvent<{ message: string }>).detail.message; });
  booting.set('element', c);
  document.body.append(vm);
  await waitFor(() => c.readyAt !== null || error !== null, 300_000, 'vm-ready', () => c.output);
  if (error) throw new Error(`the element failed: ${error}`);
  return c;
}

async function bootMemory(): Promise<Console> {
  const { image } = await loadV86Manifest(MANIFEST, MOUNT_ARG);
  const worker = new Worker(new URL('./guest-v86-worker.js', import.meta.url), { type: 'module', name: 'guest bench v86 (in-memory 9p)' });
  const send = (msg: ToGuestV86) => worker.postMessage(msg);
  const decoder = new TextDecoder();
  let stopped: (() => void) | null = null;
  let error: string | null = null;
  const c: Console = {
    output: '',
    readyAt: null,
    // Input as the element's engine host sends it: UTF-8 bytes, one char code each.
    send: (text) => send({ type: 'input', data: String.fromCharCode(...new TextEncoder().encode(text)) }),
    async stop() {
      await new Promise<void>((resolve) => { stopped = resolve; send({ type: 'stop' }); setTimeout(resolve, 3000); });
      worker.terminate();
    },
  };
  worker.onmessage = (e: MessageEvent<FromGuestV86>) => {
    if (e.data.type === 'stopped') { stopped?.(); return; }
    const before = c.output.length;
    c.output += decoder.decode(e.data.data, { stream: true });
    // The guest's login asks the terminal for its size (CSI 18 t) and waits up to 1 s for the
    // answer; the element's xterm answers it, so answer here too, or this VM boots 1 s later.
    if (c.output.indexOf('\x1b[18t', Math.max(0, before - 5)) >= 0) c.send('\x1b[8;24;80t');
    // The same marker and the same moment the element fires vm-ready at (its output handler).
    if (c.readyAt === null && c.output.indexOf(READY_MARKER, Math.max(0, before - READY_MARKER.length)) >= 0) c.readyAt = performance.now();
  };
  worker.onerror = (e) => { error = `the v86 worker failed: ${e.message}`; };
  booting.set('memory', c);
  send({ type: 'start', image, wasmUrl: new URL(V86_WASM, location.href).href });
  await waitFor(() => c.readyAt !== null || error !== null, 300_000, 'the ready marker', () => c.output);
  if (error) throw new Error(error);
  return c;
}

async function boot(kind: VmKind): Promise<BootResult> {
  if (consoles.has(kind)) throw new Error(`the ${kind} VM is already running`);
  const started = performance.now();
  const c = await (kind === 'element' ? bootElement() : bootMemory());
  const readyAt = c.readyAt!;
  consoles.set(kind, c);
  return { readyAt, bootMs: readyAt - started };
}

let nextId = 1;
const commands = new Map<number, CommandResult | { error: string } | null>();

/**
 * Runs a command line, matched on markers the shell computes ("@@S""TART" prints @@START), so
 * the echo of the typed line never matches (guest/README.md).
 */
function send(kind: VmKind, command: string): number {
  const c = consoles.get(kind);
  if (!c) throw new Error(`the ${kind} VM is not running`);
  const id = nextId++;
  const from = c.output.length;
  const begin = `@@START${id}@@\r\n`;
  const end = new RegExp(`@@END${id}:(\\d+)@@`);
  commands.set(id, null);
  const sent = performance.now();
  c.send(`echo "@@S""TART${id}@@"; ${command}; echo "@@E""ND${id}:$?@@"\n`);
  const check = () => {
    const text = c.output.slice(from);
    const match = end.exec(text);
    if (!match) { setTimeout(check, 5); return; }
    const hostMs = performance.now() - sent;
    const body = text.slice(text.indexOf(begin) + begin.length, match.index).replace(/\r/g, '');
    commands.set(id, { out: body, status: Number(match[1]), hostMs });
  };
  check();
  return id;
}

let auto: { kind: VmKind; result: BootResult | null; error: string | null } | null = null;
const autoKind = params.get('boot');
if (autoKind === 'element' || autoKind === 'memory') {
  auto = { kind: autoKind, result: null, error: null };
  // Measured from navigation start: the page and its module graph are part of the cold boot.
  boot(autoKind).then(
    (r) => { auto!.result = { readyAt: r.readyAt, bootMs: r.readyAt }; },
    (e: unknown) => { auto!.error = e instanceof Error ? e.message : String(e); },
  );
}

const api: GuestBenchApi = {
  autoboot: () => auto,
  startBoot(kind) {
    const state: { result: BootResult | null; error: string | null } = { result: null, error: null };
    boots.set(kind, state);
    boot(kind).then((r) => { state.result = r; }, (e: unknown) => { state.error = e instanceof Error ? e.message : String(e); });
  },
  bootState(kind) {
    const s = boots.get(kind) ?? { result: null, error: `no boot of ${kind} started` };
    return { ...s, tail: (consoles.get(kind) ?? booting.get(kind))?.output.slice(-600) ?? '' };
  },
  send,
  poll(id) {
    const r = commands.get(id);
    if (r === undefined) return { error: `no command ${id}` };
    if (r) commands.delete(id);
    return r;
  },
  async stop(kind) {
    const c = consoles.get(kind);
    consoles.delete(kind);
    await c?.stop();
  },
  userAgent: () => navigator.userAgent,
};
(globalThis as unknown as { guestBench: GuestBenchApi }).guestBench = api;
