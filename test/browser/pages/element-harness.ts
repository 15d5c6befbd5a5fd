// window.vmHarness: drives a <container-vm> for node tests that boot the guest, relaunch the
// browser, or load the element from dist/. Commands run in the guest's shell and are matched on a
// marker the shell computes, so the echoed command line never matches (notes/x86-guest.md).

import type { ContainerVm } from '../../../src/element/container-vm.js';
import { exposeHarness } from './held-promises.js';

const params = new URLSearchParams(location.search);
const elementModule = params.get('module') ?? '/build/src/container-vm.js';

let vm: ContainerVm | null = null;
let output = '';
let nextMarker = 1;
/** Each event with its time in ms from create(). */
const events: { type: string; detail: unknown; at: number }[] = [];
const eventTimes = new Map<string, number>();
let createdAt = 0;

function waitFor(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const tick = () => {
      if (predicate()) return resolve();
      if (Date.now() - started > timeoutMs) return reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; console tail: ${JSON.stringify(output.slice(-400))}`));
      setTimeout(tick, 20);
    };
    tick();
  });
}

const vmHarness = {
  /** Creates the element with these attributes and adds it to the page; resolves after its first render. */
  async create(attributes: Record<string, string>): Promise<void> {
    await import(elementModule);
    vm = document.createElement('container-vm');
    createdAt = performance.now();
    for (const [k, v] of Object.entries(attributes)) vm.setAttribute(k, v);
    for (const type of ['opfs-ready', 'vm-ready', 'error', 'exit', 'progress']) {
      vm.addEventListener(type, (e) => {
        events.push({ type, detail: (e as CustomEvent).detail, at: performance.now() - createdAt });
        if (!eventTimes.has(type)) eventTimes.set(type, performance.now() - createdAt);
      });
    }
    vm.addEventListener('output', (e) => { output += (e as CustomEvent<{ text: string }>).detail.text; });
    document.body.append(vm);
    await vm.updateComplete;
  },
  events: () => events.map((e) => ({ type: e.type, detail: e.type === 'progress' ? null : e.detail })),
  progressEvents: () => events.filter((e) => e.type === 'progress').length,
  /** The details of the progress events so far, each with its time in ms from create(). */
  progressDetails: () => events.filter((e) => e.type === 'progress').map((e) => ({ ...e.detail as { what: string; loaded: number; total: number }, at: e.at })),
  async waitForEvent(type: string, timeoutMs = 120000): Promise<unknown> {
    await waitFor(() => events.some((e) => e.type === type || e.type === 'error'), timeoutMs, `the ${type} event`);
    const hit = events.find((e) => e.type === type) ?? events.find((e) => e.type === 'error');
    return { type: hit!.type, detail: hit!.detail };
  },
  /** Runs a shell command in the guest; resolves with what it printed and its exit status. */
  async run(command: string, timeoutMs = 60000): Promise<{ out: string; status: number }> {
    const id = nextMarker++;
    const start = output.length;
    // The shell expands "@@S""TART" to @@START: the echoed line (which the shell wraps at the
    // terminal's width) has the quotes, the command's own output does not.
    vm!.send(`echo "@@S""TART${id}@@"; ${command}; echo "@@E""ND${id}:$?@@"\n`);
    const begin = `@@START${id}@@\r\n`;
    const end = new RegExp(`@@END${id}:(\\d+)@@`);
    await waitFor(() => end.test(output.slice(start)), timeoutMs, `command ${JSON.stringify(command)}`);
    const text = output.slice(start);
    const match = end.exec(text)!;
    const body = text.slice(text.indexOf(begin) + begin.length, match.index).replace(/\r/g, '');
    return { out: body, status: Number(match[1]) };
  },
  /** Resolves once the console output (since `from`) matches `pattern`; returns the output from `from`. */
  async waitForOutput(pattern: string, timeoutMs = 30000, from = 0): Promise<string> {
    const re = new RegExp(pattern);
    await waitFor(() => re.test(output.slice(from)), timeoutMs, `output matching ${pattern}`);
    return output.slice(from);
  },
  outputLength: () => output.length,
  /** Everything the guest wrote to its console so far. */
  output: () => output,
  /** Focuses the terminal, so puppeteer's keyboard types into it. */
  focusTerminal: () => vm!.shadowRoot!.querySelector<HTMLTextAreaElement>('textarea')!.focus(),
  clearEvents: () => { events.length = 0; },
  start: () => vm!.start(),
  send: (text: string) => vm!.send(text),
  readText: (path: string) => vm!.fs.readText(path),
  mkdir: (path: string) => vm!.fs.mkdir(path, { recursive: true }),
  writeText: (path: string, text: string, mode?: number) => vm!.fs.writeFile(path, text, mode),
  state: () => vm!.state,
  /**
   * Everything under `path` in the share through the element's `fs`, sorted by path: type, size,
   * mtime, a symlink's target and a file's SHA-256.
   */
  async listShare(path: string): Promise<ShareEntry[]> {
    const out: ShareEntry[] = [];
    const walk = async (dir: string) => {
      for (const { name } of await vm!.fs.readDir(dir)) {
        const p = `${dir}/${name}`;
        const st = await vm!.fs.stat(p);
        const entry: ShareEntry = { path: p, type: st.type, size: st.size, mtimeMs: st.mtimeMs };
        if (st.type === 'symlink') entry.target = await vm!.fs.readlink(p);
        if (st.type === 'file') {
          const digest = await crypto.subtle.digest('SHA-256', await vm!.fs.readFile(p) as Uint8Array<ArrayBuffer>);
          entry.sha256 = Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
        }
        out.push(entry);
        if (st.type === 'directory') await walk(p);
      }
    };
    await walk(path);
    return out.sort((a, b) => (a.path < b.path ? -1 : 1));
  },
  /** The element itself, for calls the harness does not wrap. */
  element: () => vm!,
  /** Milliseconds from create() to the first event of `type` (recorded as events arrive). */
  eventTime: (type: string) => eventTimes.get(type) ?? null,
  /** When create() ran, in ms since the page's navigation started (performance.now()). */
  createdAt: () => createdAt,
  stop: () => vm!.stop(),
  setAttribute: (name: string, value: string) => vm!.setAttribute(name, value),
  /** Resizes the element (CSS pixels). */
  resize(width: number, height: number): void {
    vm!.style.width = `${width}px`;
    vm!.style.height = `${height}px`;
  },
  /** Pings the guest agent: whether it answered within `timeoutMs`. */
  async agentPing(timeoutMs = 10000): Promise<boolean> {
    const agent = (vm as unknown as { agent: { ping(): Promise<void> } | null }).agent;
    if (!agent) return false;
    return Promise.race([agent.ping().then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), timeoutMs))]);
  },
  /** The terminal's size in characters, as xterm has it. */
  terminalSize: () => (vm as unknown as { terminal: { size: { cols: number; rows: number } } | null }).terminal?.size ?? null,
  /** Removes the element and, once it has shut down (the exit event, or 3 s), adds it back. */
  async removeAndAddBack(): Promise<void> {
    await vmHarness.remove();
    document.body.append(vm!);
  },
  /** Removes the element: stops the VM and closes the share (flushing it). */
  async remove(): Promise<void> {
    const closed = new Promise<void>((resolve) => vm!.addEventListener('exit', () => resolve(), { once: true }));
    vm!.remove();
    await Promise.race([closed, new Promise((r) => setTimeout(r, 3000))]);
  },
};

export interface ShareEntry { path: string; type: string; size: number; mtimeMs: number; target?: string; sha256?: string }

export type VmHarness = typeof vmHarness;
exposeHarness('vmHarness', vmHarness);
