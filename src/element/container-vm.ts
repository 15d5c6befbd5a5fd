// <container-vm>: a Linux VM in the page with a terminal and a persistent OPFS share.

import { LitElement, PropertyDeclarations, css, html, nothing, unsafeCSS } from 'lit';
import { StorageHost } from '../channel/storage-host.js';
import { ChannelEndpoint } from '../channel/layout.js';
import { Backend } from '../channel/storage-protocol.js';
import { ShareFs } from '../p9/share-fs.js';
import { EngineEvents, RunningEngine, startV86 } from '../engines/v86-host.js';
import { splitWords, startWasi } from '../engines/wasi-host.js';
import { VmError, toVmError } from '../errors.js';
import { engineFor, loadV86Manifest } from './image.js';
import { ShareFiles } from './share-files.js';
import { TerminalView } from './terminal.js';
import { xtermCss } from './xterm-styles.js';
import { ReadyMarkerScanner } from './ready-marker.js';

/** Where the element's workers and wasm files are; set by the entry module (src/container-vm.ts). */
export interface ElementAssets {
  storageWorker: URL;
  v86Worker: URL;
  v86Wasm: URL;
  wasiWorker: URL;
}

export type VmState = 'idle' | 'loading' | 'booting' | 'running' | 'stopped' | 'error';

export interface ProgressDetail { what: string; loaded: number; total: number }
export interface ErrorDetail { code: string; message: string }
export interface OpfsReadyDetail { root: string; backend: Backend }
export interface ExitDetail { code: number | null; reason: 'stopped' | 'exited' | 'error' }
export interface OutputDetail { text: string }

/** `autostart` is on unless the attribute says "false" or "off". */
const onUnlessFalse = {
  fromAttribute: (v: string | null) => v === null || (v !== 'false' && v !== 'off'),
  toAttribute: (v: boolean) => (v ? '' : 'false'),
};

/**
 * @tagname container-vm
 * @summary Runs a Linux guest (v86 image manifest or container2wasm .wasm) with a terminal and a
 * persistent OPFS share mounted in the guest.
 *
 * @fires opfs-ready - The share is open: `detail` is `{ root, backend }`. `fs` works from here on.
 * @fires vm-ready - The guest is up and its shell is ready for input.
 * @fires progress - Something is loading: `detail` is `{ what, loaded, total }` (bytes; total 0 when unknown).
 * @fires error - Something failed: `detail` is `{ code, message }`, the message says what to do. Does not bubble.
 * @fires exit - The VM stopped: `detail` is `{ code, reason }`.
 * @fires output - The guest wrote to its console: `detail` is `{ text }` (what the terminal shows, escapes included).
 *
 * @csspart terminal - The terminal's container.
 * @csspart status - The status line under the terminal (progress and errors).
 *
 * @cssprop --container-vm-background - Terminal background colour.
 * @cssprop --container-vm-foreground - Terminal text colour.
 * @cssprop --container-vm-cursor - Terminal cursor colour.
 * @cssprop --container-vm-selection - Terminal selection colour.
 * @cssprop --container-vm-font-family - Terminal font.
 * @cssprop --container-vm-font-size - Terminal font size in pixels.
 */
export class ContainerVm extends LitElement {
  static assets: ElementAssets | null = null;

  static override properties: PropertyDeclarations = {
    src: { type: String, reflect: true },
    engine: { type: String, reflect: true },
    backend: { type: String, reflect: true },
    opfsRoot: { type: String, attribute: 'opfs-root', reflect: true },
    mount: { type: String, reflect: true },
    args: { type: String, reflect: true },
    env: { type: String, reflect: true },
    autostart: { type: Boolean, reflect: true, converter: onUnlessFalse },
    state: { type: String, reflect: true, attribute: 'state' },
  };

  static override styles = [
    unsafeCSS(xtermCss),
    css`
      :host {
        display: flex;
        flex-direction: column;
        min-height: 16rem;
        height: 24rem;
        background: var(--container-vm-background, #1e1e1e);
        color: var(--container-vm-foreground, #d4d4d4);
        border-radius: 6px;
        overflow: hidden;
        contain: content;
      }
      [part='terminal'] { flex: 1; min-height: 0; padding: 4px 0 0 6px; }
      [part='status'] {
        display: flex; align-items: center; gap: 0.75em;
        font: 12px/1.6 system-ui, sans-serif; padding: 2px 8px;
        background: rgba(127, 127, 127, 0.15);
      }
      [part='status'].error { background: #5a1d1d; color: #ffd7d7; }
      progress { flex: 0 0 8em; height: 0.6em; }
    `,
  ];

  /** The image: a v86 manifest (.json) or a container2wasm image (.wasm). */
  declare src: string;
  /** auto (from src), v86 or wasi. */
  declare engine: 'auto' | 'v86' | 'wasi';
  /** The 9P server: m1 (TypeScript) or l1 (Rust/WebAssembly). */
  declare backend: Backend;
  /** The share's OPFS directory. */
  declare opfsRoot: string;
  /** Where the guest mounts the share (for the wasi engine: where the share is preopened). */
  declare mount: string;
  /**
   * wasi engine: the program's arguments after argv[0], split like a shell does (quotes keep spaces).
   * For a container2wasm image: its run-time flags and the container's command.
   */
  declare args: string;
  /** wasi engine: the program's environment, NAME=value words split like `args`. */
  declare env: string;
  /** Start when connected to the document (default on; autostart="false" turns it off). */
  declare autostart: boolean;
  /** What the VM is doing; reflected as the `state` attribute for styling. */
  declare state: VmState;
  /** The status line's text and the progress bar's fill (0..1, null: no bar). */
  private statusText = '';
  private progressFraction: number | null = null;

  private terminal: TerminalView | null = null;
  private storage: Promise<{ host: StorageHost; fs: ShareFs }> | null = null;
  private running: RunningEngine | null = null;
  private vmEndpoint: ChannelEndpoint | null = null;
  private starting: Promise<void> | null = null;
  private readonly marker = new ReadyMarkerScanner();
  private readonly outputDecoder = new TextDecoder();
  private readonly files = new ShareFiles(() => this.openStorage());

  constructor() {
    super();
    this.src = '';
    this.engine = 'auto';
    this.backend = 'm1';
    this.opfsRoot = '/shared';
    this.mount = '/mnt/opfs';
    this.args = '';
    this.env = '';
    this.autostart = true;
    this.state = 'idle';
  }

  /** The share's files, through the storage worker: readFile, writeFile, readDir, stat, mkdir, remove, rename. */
  get fs(): ShareFiles {
    return this.files;
  }

  override render() {
    return html`
      <div part="terminal"></div>
      <div part="status" class=${this.state === 'error' ? 'error' : ''} role="status" aria-live="polite">
        <span>${this.statusText || this.state}</span>
        ${this.progressFraction !== null ? html`<progress max="1" .value=${this.progressFraction}></progress>` : nothing}
      </div>
    `;
  }

  override firstUpdated(): void {
    const container = this.renderRoot.querySelector<HTMLElement>('[part="terminal"]')!;
    this.terminal = new TerminalView(container, this, (data) => this.running?.input(data));
    // Start after this first render settles, so starting's own state changes render once more.
    if (this.autostart && this.src) void this.updateComplete.then(() => this.start());
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    void this.shutdown();
  }

  /** Starts the VM (and the share, if it is not open yet). Resolves once the emulator runs. */
  start(): Promise<void> {
    if (this.running) return Promise.resolve();
    this.starting ??= this.boot().finally(() => { this.starting = null; });
    return this.starting;
  }

  /** Stops the VM; the share stays open for `fs`. */
  async stop(): Promise<void> {
    await this.starting?.catch(() => undefined);
    const engine = this.running;
    if (!engine) return;
    this.running = null;
    await engine.stop();
    await this.releaseVmEndpoint();
    this.setState('stopped', 'Stopped');
    this.emit<ExitDetail>('exit', { code: null, reason: 'stopped' });
  }

  async restart(): Promise<void> {
    await this.stop();
    this.terminal?.write('\r\n');
    await this.start();
  }

  /** Types text into the VM's console, as if on the keyboard. */
  send(text: string): void {
    this.running?.input(text);
  }

  private async boot(): Promise<void> {
    try {
      this.setState('loading', 'Starting…');
      const { host } = await this.openStorage();
      const kind = this.engine === 'auto' ? engineFor(this.src) : this.engine;
      if (!this.src) throw new VmError('bad-image', 'Set the src attribute to a v86 image manifest (.json) or a container2wasm image (.wasm).');
      if (kind !== 'v86' && kind !== 'wasi') throw new VmError('bad-image', `Unknown engine "${this.engine}": use auto, v86 or wasi.`);
      const assets = this.requireAssets();
      const events: EngineEvents = {
        output: (data) => {
          this.terminal?.write(data);
          this.emit<OutputDetail>('output', { text: this.outputDecoder.decode(data, { stream: true }) });
          if (kind === 'v86' && this.marker.scan(data)) {
            this.setState('running', 'Running');
            this.emit('vm-ready', {});
          }
        },
        progress: (what, loaded, total) => {
          const name = what.split('/').pop() ?? what;
          this.setState('loading', total ? `Downloading ${name}: ${formatBytes(loaded)} of ${formatBytes(total)}` : `Downloading ${name}: ${formatBytes(loaded)}`);
          this.progressFraction = total ? loaded / total : null;
          this.requestUpdate();
          this.emit<ProgressDetail>('progress', { what, loaded, total });
        },
        started: () => {
          this.progressFraction = null;
          this.terminal?.focus();
          if (kind === 'v86') {
            this.setState('booting', 'Booting…');
          } else {
            // A WASI program reads its input from the start: it is ready as soon as it runs.
            this.setState('running', 'Running');
            this.emit('vm-ready', {});
          }
        },
        error: (e) => this.fail(e),
      };
      if (kind === 'wasi') {
        const args = splitWords(this.args);
        const env = splitWords(this.env);
        // Two slots: requests, and the Tclunks S1 sends without waiting for their answers.
        this.vmEndpoint = await host.connect(2);
        const size = this.terminal?.size ?? { cols: 80, rows: 24 };
        this.running = startWasi(assets.wasiWorker, {
          src: new URL(this.src, location.href).href, args, env, mount: this.mount, share: this.vmEndpoint, ...size,
        }, {
          ...events,
          exited: (code) => void this.exited(code),
          // The engine's worker is gone after an error: let start() run the program again.
          error: (e) => { this.running = null; void this.releaseVmEndpoint(); this.fail(e); },
        });
        return;
      }
      const image = await loadV86Manifest(this.src, `cvm.mount=${this.mount}`);
      this.vmEndpoint = await host.connect(16);
      this.marker.reset();
      this.running = startV86(assets.v86Worker, assets.v86Wasm, image, this.vmEndpoint, events);
    } catch (e) {
      this.fail(toVmError(e, 'engine-failed'));
    }
  }

  /** The WASI program ended by itself: the share stays open, `start()` runs it again. */
  private async exited(code: number): Promise<void> {
    this.running = null;
    await this.releaseVmEndpoint();
    this.setState('stopped', `Exited with code ${code}`);
    this.emit<ExitDetail>('exit', { code, reason: 'exited' });
  }

  /** Opens the share once: starts the storage worker and fires opfs-ready. */
  private openStorage(): Promise<{ host: StorageHost; fs: ShareFs }> {
    this.storage ??= (async () => {
      try {
        const assets = this.requireAssets();
        const host = await StorageHost.start({ root: this.opfsRoot, backend: this.backend, workerUrl: assets.storageWorker });
        const fs = await ShareFs.connect(await host.connect(4));
        this.emit<OpfsReadyDetail>('opfs-ready', { root: this.opfsRoot, backend: this.backend });
        return { host, fs };
      } catch (e) {
        this.storage = null;
        const err = toVmError(e, 'storage-failed');
        this.fail(err);
        throw err;
      }
    })();
    return this.storage;
  }

  private requireAssets(): ElementAssets {
    if (!ContainerVm.assets) throw new VmError('engine-failed', 'container-vm was loaded without its entry module: import container-vm.js, not the element class alone.');
    return ContainerVm.assets;
  }

  private async releaseVmEndpoint(): Promise<void> {
    const endpoint = this.vmEndpoint;
    this.vmEndpoint = null;
    if (endpoint && this.storage) await (await this.storage).host.disconnect(endpoint).catch(() => undefined);
  }

  private async shutdown(): Promise<void> {
    await this.stop().catch(() => undefined);
    const storage = this.storage;
    this.storage = null;
    if (storage) await (await storage.catch(() => null))?.host.close();
    this.terminal?.dispose();
    this.terminal = null;
  }

  private fail(e: VmError): void {
    this.progressFraction = null;
    this.setState('error', e.message);
    this.terminal?.write(`\r\n\x1b[31mcontainer-vm: ${e.message}\x1b[0m\r\n`);
    this.emit<ErrorDetail>('error', { code: e.code, message: e.message });
  }

  private setState(state: VmState, text: string): void {
    this.state = state;
    this.statusText = text;
    this.requestUpdate();
  }

  private emit<T>(type: string, detail: T): void {
    dispatch(this, type, detail);
  }
}

/** Fires one of the element's events. `error` does not bubble, like an <img>'s: on window it would look like an uncaught exception. */
function dispatch<T>(target: EventTarget, type: string, detail: T): void {
  const bubbles = type !== 'error';
  target.dispatchEvent(new CustomEvent<T>(type, { detail, bubbles, composed: bubbles }));
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(0)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

declare global {
  interface HTMLElementTagNameMap {
    'container-vm': ContainerVm;
  }
}
