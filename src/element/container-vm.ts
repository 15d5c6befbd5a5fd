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
import { ImportSource, captureDrop, collectItems, importItems } from '../transfer/file-import.js';
import { ZipExportOptions, exportZip } from '../transfer/zip-export.js';
import { fetchWithProgress, unpackZip } from '../transfer/zip-import.js';
import { ImportResult } from '../transfer/progress.js';
import { saveBlob } from '../transfer/download.js';
import { readAll } from '../streams.js';
import { Snapshot, SnapshotInfo, SnapshotStore, imageKey } from './snapshot-store.js';
import { StorageUsage, formatBytes, requestPersistence, storageUsage, usageText } from './storage-usage.js';
import { V86Image } from '../engines/v86-protocol.js';

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
/** What saveSnapshot() stored, and how long the VM was paused for it (the rest ran beside the VM). */
export interface SavedSnapshot extends SnapshotInfo { pausedMs: number }

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
 * @fires progress - Something is loading or being copied: `detail` is `{ what, loaded, total }` (bytes; total 0 when unknown).
 *   `what` is the image URL while the VM loads, or "import", "import-zip", "export-zip" or "download" followed by a name.
 * @fires error - Something failed: `detail` is `{ code, message }`, the message says what to do. Does not bubble.
 * @fires exit - The VM stopped: `detail` is `{ code, reason }`.
 * @fires output - The guest wrote to its console: `detail` is `{ text }` (what the terminal shows, escapes included).
 *
 * @csspart terminal - The terminal's container.
 * @csspart status - The status line under the terminal (progress and errors).
 * @csspart usage - The site's storage use in the status line (navigator.storage.estimate()).
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
    snapshot: { type: String, reflect: true },
    persist: { type: Boolean, reflect: true },
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
      :host([dropping]) [part='terminal'] { outline: 2px dashed var(--container-vm-cursor, #4fc1ff); outline-offset: -6px; }
      progress { flex: 0 0 8em; height: 0.6em; }
      [part='usage'] { margin-left: auto; opacity: 0.75; white-space: nowrap; }
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
  /** "auto": start from the latest snapshot saved with saveSnapshot() (v86 only), else boot cold. */
  declare snapshot: string;
  /** Ask the browser to keep this site's storage under storage pressure (navigator.storage.persist()). */
  declare persist: boolean;
  /** What the VM is doing; reflected as the `state` attribute for styling. */
  declare state: VmState;
  /** The status line's text and the progress bar's fill (0..1, null: no bar). */
  private statusText = '';
  private progressFraction: number | null = null;
  /** While files are copied in or out: what the status line says instead of the VM's state. */
  private transferText: string | null = null;
  private usage: StorageUsage | null = null;

  private terminal: TerminalView | null = null;
  private storage: Promise<{ host: StorageHost; fs: ShareFs }> | null = null;
  private running: RunningEngine | null = null;
  private vmEndpoint: ChannelEndpoint | null = null;
  private starting: Promise<void> | null = null;
  /** The image running now; saveSnapshot() records it with the state. */
  private image: V86Image | null = null;
  private savingSnapshot = false;
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
    this.snapshot = '';
    this.persist = false;
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
        <span>${this.transferText ?? (this.statusText || this.state)}</span>
        ${this.progressFraction !== null ? html`<progress max="1" .value=${this.progressFraction}></progress>` : nothing}
        ${this.usage ? html`<span part="usage">${usageText(this.usage)}</span>` : nothing}
      </div>
    `;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    this.addEventListener('dragover', this.onDragOver);
    this.addEventListener('dragleave', this.onDragLeave);
    this.addEventListener('drop', this.onDrop);
  }

  override firstUpdated(): void {
    const container = this.renderRoot.querySelector<HTMLElement>('[part="terminal"]')!;
    this.terminal = new TerminalView(container, this, (data) => this.running?.input(data));
    // Start after this first render settles, so starting's own state changes render once more.
    if (this.autostart && this.src) void this.updateComplete.then(() => this.start());
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.removeEventListener('dragover', this.onDragOver);
    this.removeEventListener('dragleave', this.onDragLeave);
    this.removeEventListener('drop', this.onDrop);
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
    this.image = null;
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

  /** This site's storage use and quota (all of its storage: shares, snapshots, caches). */
  async storageUsage(): Promise<StorageUsage> {
    this.usage = await storageUsage();
    this.requestUpdate();
    return this.usage;
  }

  /**
   * Saves the running VM (v86) to OPFS; with snapshot="auto" the next start resumes from it in
   * about a second instead of booting. Call it once the shell is ready (after vm-ready). The VM
   * pauses while its state is taken, then runs on while the state is compressed and stored.
   */
  async saveSnapshot(): Promise<SavedSnapshot> {
    const engine = this.running;
    if (!engine || !this.image || !this.vmEndpoint || this.state !== 'running') {
      throw new VmError('snapshot-failed', 'saveSnapshot() needs a running v86 VM whose shell is ready: call it after vm-ready.');
    }
    if (this.savingSnapshot) throw new VmError('snapshot-failed', 'a snapshot is being saved already: await the first saveSnapshot().');
    this.savingSnapshot = true;
    try {
      return await this.writeSnapshot(engine, this.vmEndpoint, this.image);
    } finally {
      this.savingSnapshot = false;
    }
  }

  private async writeSnapshot(engine: RunningEngine, endpoint: ChannelEndpoint, image: V86Image): Promise<SavedSnapshot> {
    const { host } = await this.openStorage();
    const pausedAt = performance.now();
    const state = await engine.pauseAndSave();
    let session;
    try {
      session = await host.exportSession(endpoint);
    } finally {
      engine.resume();
    }
    const pausedMs = performance.now() - pausedAt;
    try {
      const info = await (await SnapshotStore.open(this.opfsRoot)).save(state, session, image);
      void this.storageUsage();
      return { ...info, pausedMs };
    } catch (e) {
      const err = toVmError(e, 'snapshot-failed');
      if ((e as { name?: string }).name === 'QuotaExceededError') this.quotaExceeded();
      throw new VmError('snapshot-failed', `could not store the snapshot: ${err.message}. The previous snapshot, if any, is kept.`);
    }
  }

  /** The latest snapshot of this element's share, or null. */
  async snapshotInfo(): Promise<SnapshotInfo | null> {
    return (await SnapshotStore.open(this.opfsRoot)).info();
  }

  /** Removes this share's snapshots: the next start boots cold. */
  async discardSnapshot(): Promise<void> {
    await (await SnapshotStore.open(this.opfsRoot)).clear();
  }

  /** Types text into the VM's console, as if on the keyboard. */
  send(text: string): void {
    this.running?.input(text);
  }

  /**
   * Copies files and folders into the share under `dest` (a path relative to the share root):
   * a drop's DataTransfer, a FileList, Files, or File System Access handles.
   */
  importFiles(source: ImportSource, dest = ''): Promise<ImportResult> {
    return this.transfer('import', sourceName(source), async (fs, progress) => importItems(fs, await collectItems(source), dest, progress));
  }

  /** Fetches a zip file and unpacks it into the share under `dest`: to seed a share. */
  importZip(url: string, dest = ''): Promise<ImportResult> {
    const name = new URL(url, document.baseURI).pathname.split('/').pop() || url;
    return this.transfer('import-zip', name, async (fs, progress) => {
      const zip = await fetchWithProgress(url, (loaded, total) => progress(loaded, total, 'Downloading'));
      return unpackZip(fs, zip, dest, (loaded, total) => progress(loaded, total, 'Unpacking'));
    });
  }

  /** The share (or the folder `path` of it) as a zip file, with modes, symlinks and mtimes. */
  exportZip(path = '', options: Omit<ZipExportOptions, 'onProgress'> = {}): Promise<Blob> {
    return this.transfer('export-zip', path || 'share', (fs, progress) => exportZip(fs, path, { ...options, onProgress: progress }));
  }

  /** Saves the share (or the folder `path`) as a zip download named `filename`. */
  async downloadZip(filename = 'share.zip', path = ''): Promise<void> {
    saveBlob(await this.exportZip(path), filename);
  }

  /** Saves one file of the share as a download. */
  downloadFile(path: string): Promise<void> {
    const name = path.split('/').filter(Boolean).pop() ?? 'file';
    return this.transfer('download', name, async (fs, progress) => {
      const { size } = await fs.stat(path);
      const bytes = await readAll(await fs.readStream(path), (loaded) => progress(loaded, size));
      saveBlob(new Blob([bytes]), name);
    });
  }

  /**
   * Runs one copy in or out of the share: progress events and the status line while it runs, an
   * `error` event (and a rejected promise) if it fails. The VM keeps running either way.
   */
  private async transfer<T>(kind: string, name: string, work: (fs: ShareFs, progress: (loaded: number, total: number, verb?: string) => void) => Promise<T>): Promise<T> {
    const what = `${kind} ${name}`;
    const progress = (loaded: number, total: number, verb = TRANSFER_VERBS[kind] ?? kind) => {
      this.transferText = progressText(verb, name, loaded, total);
      this.progressFraction = total ? loaded / total : null;
      this.requestUpdate();
      this.emit<ProgressDetail>('progress', { what, loaded, total });
    };
    try {
      const { fs } = await this.openStorage();
      return await work(fs, progress);
    } catch (e) {
      const err = e instanceof VmError ? e : new VmError('transfer-failed', `${TRANSFER_VERBS[kind] ?? kind} ${name} failed: ${e instanceof Error ? e.message : String(e)}`);
      this.emit<ErrorDetail>('error', { code: err.code, message: err.message });
      throw err;
    } finally {
      this.transferText = null;
      this.progressFraction = null;
      this.requestUpdate();
      // An import (or a failed one) changes what the site stores: keep the status line's figure true.
      if (this.storage) void this.storageUsage().catch(() => undefined);
    }
  }

  private readonly onDragOver = (e: DragEvent) => {
    if (!e.dataTransfer?.types.includes('Files')) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = 'copy';
    this.toggleAttribute('dropping', true);
  };

  private readonly onDragLeave = () => this.toggleAttribute('dropping', false);

  private readonly onDrop = (e: DragEvent) => {
    this.toggleAttribute('dropping', false);
    if (!e.dataTransfer?.types.includes('Files')) return;
    e.preventDefault();
    // The drop's items are readable only now, before the first await.
    const items = captureDrop(e.dataTransfer);
    // A failure is reported by the error event; there is no caller to reject to.
    this.transfer('import', 'dropped files', async (fs, progress) => importItems(fs, await items, '', progress)).catch(() => undefined);
  };

  private async boot(): Promise<void> {
    try {
      this.setState('loading', 'Starting…');
      // Read while the share opens: the snapshot is the slow part of a resume.
      const snapshot = this.snapshot === 'auto' ? this.loadSnapshot() : null;
      const { host } = await this.openStorage();
      const kind = this.engine === 'auto' ? engineFor(this.src) : this.engine;
      if (!this.src) throw new VmError('bad-image', 'Set the src attribute to a v86 image manifest (.json) or a container2wasm image (.wasm).');
      if (kind !== 'v86' && kind !== 'wasi') throw new VmError('bad-image', `Unknown engine "${this.engine}": use auto, v86 or wasi.`);
      const assets = this.requireAssets();
      // Set once a v86 image is known to match the stored snapshot (read before the events fire).
      let resumed: Snapshot | null = null;
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
          this.setState('loading', progressText('Downloading', name, loaded, total));
          this.progressFraction = total ? loaded / total : null;
          this.requestUpdate();
          this.emit<ProgressDetail>('progress', { what, loaded, total });
        },
        started: () => {
          this.progressFraction = null;
          this.terminal?.focus();
          const from = resumed;
          if (kind === 'wasi') {
            // A WASI program reads its input from the start: it is ready as soon as it runs.
            this.setState('running', 'Running');
            this.emit('vm-ready', {});
          } else if (!from) {
            this.setState('booting', 'Booting…');
          } else {
            // The snapshot was taken with the shell ready (saveSnapshot() requires it).
            this.terminal?.write(`\x1b[2m[resumed from the snapshot of ${from.savedAt.toLocaleString()}]\x1b[0m\r\n`);
            this.setState('running', 'Running');
            this.emit('vm-ready', {});
          }
        },
        error: (e) => {
          if (resumed && e.code === 'snapshot-failed' && this.state !== 'running') void this.bootAfterBadSnapshot(e);
          else this.fail(e);
        },
      };
      if (kind === 'wasi') {
        const args = splitWords(this.args);
        const env = splitWords(this.env);
        // Slots for requests, for the Tclunks S1 sends without waiting for their answers, and 16
        // for the lookups S1 sends in batches (src/wasi/session.ts).
        this.vmEndpoint = await host.connect(18);
        this.image = null;
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
      resumed = (await snapshot)?.image === imageKey(image) ? await snapshot : null;
      // A resumed guest still holds its 9P fids: the new session gets them back, by path.
      this.vmEndpoint = await host.connect(16, undefined, resumed?.session);
      this.marker.reset();
      this.image = image;
      this.running = startV86(assets.v86Worker, assets.v86Wasm, image, this.vmEndpoint, events, resumed?.state);
    } catch (e) {
      this.fail(toVmError(e, 'engine-failed'));
    }
  }

  /** The latest snapshot, or null (none, or unreadable: then the VM boots cold). */
  private async loadSnapshot(): Promise<Snapshot | null> {
    try {
      return await (await SnapshotStore.open(this.opfsRoot)).load((loaded, total) => {
        this.progressFraction = total ? loaded / total : null;
        this.setState('loading', `Resuming: ${formatBytes(loaded)} of ${formatBytes(total)}`);
        this.emit<ProgressDetail>('progress', { what: 'snapshot', loaded, total });
      });
    } catch (e) {
      console.warn('container-vm: the snapshot could not be read, booting instead:', e);
      return null;
    }
  }

  /** A snapshot that does not restore is removed, and the VM boots instead. */
  private async bootAfterBadSnapshot(e: VmError): Promise<void> {
    console.warn(`container-vm: ${e.message}; it is discarded and the VM boots instead`);
    await this.discardSnapshot().catch(() => undefined);
    const engine = this.running;
    this.running = null;
    await engine?.stop();
    await this.releaseVmEndpoint();
    await this.start();
  }

  /** A write failed for want of quota: the guest got ENOSPC; nothing stored before is lost. */
  private quotaExceeded(): void {
    void this.storageUsage().then((u) => {
      const message = `This site's storage quota is full (${usageText(u)}): a write in the share failed with ENOSPC ` +
        '(No space left on device). Files stored before are intact. Delete files from the share or free storage for this site' +
        (u.persisted ? '.' : ', and consider the persist attribute.');
      this.statusText = message;
      this.requestUpdate();
      this.emit<ErrorDetail>('error', { code: 'quota-exceeded', message });
    });
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
        const host = await StorageHost.start({
          root: this.opfsRoot, backend: this.backend, workerUrl: assets.storageWorker, onNoSpace: () => this.quotaExceeded(),
          onFailure: (e) => this.fail(toVmError(e, 'storage-failed')),
        });
        const fs = await ShareFs.connect(await host.connect(4));
        if (this.persist) await requestPersistence();
        void this.storageUsage();
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

const TRANSFER_VERBS: Record<string, string> = { import: 'Importing', 'import-zip': 'Importing', 'export-zip': 'Zipping', download: 'Downloading' };

/** "Downloading bzImage: 1.2 MiB of 5.0 MiB" (without "of …" when the total is unknown). */
function progressText(verb: string, name: string, loaded: number, total: number): string {
  return total ? `${verb} ${name}: ${formatBytes(loaded)} of ${formatBytes(total)}` : `${verb} ${name}: ${formatBytes(loaded)}`;
}

function sourceName(source: ImportSource): string {
  if (typeof FileSystemHandle !== 'undefined' && source instanceof FileSystemHandle) return source.name;
  return 'files';
}

declare global {
  interface HTMLElementTagNameMap {
    'container-vm': ContainerVm;
  }
}
