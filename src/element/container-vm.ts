// <container-vm>: a Linux VM in the page with a terminal and a persistent OPFS share.
//
// It behaves like the platform's media elements: connected with a `src` (and autostart on) it
// starts; a new `src` restarts it with the new image; removed, it stops and closes its share;
// added again, it has a working terminal and starts again. Starting, stopping and restarting run
// one after another, in the order they were asked for.

import { LitElement, PropertyDeclarations, PropertyValues, html, nothing } from 'lit';
import { Backend } from '../storage/storage-protocol.js';
import { VmError, toVmError } from '../errors.js';
import { ShareFiles } from './share-files.js';
import { TerminalView } from './terminal.js';
import { elementStyles } from './styles.js';
import { ReadyMarkerScanner } from './ready-marker.js';
import { GuestAgent } from './guest-agent.js';
import { ElementAssets, LaunchedVm, assetsIn, checkLaunch, launchVm, parseShareCache, readV86Start } from './vm-launch.js';
import { resetRoots } from '../oci/roots.js';
import { isOciSource } from '../oci/image.js';
import { parseNetwork } from './network.js';
import { ShareTransfers, progressText } from './transfers.js';
import { ImportSource, captureDrop } from '../transfer/file-import.js';
import type { ZipExportOptions } from '../transfer/zip-export.js';
import { ImportResult } from '../transfer/progress.js';
import { saveBlob } from '../transfer/download.js';
import { Snapshot, SnapshotInfo, SnapshotStore } from './snapshot-store.js';
import { StorageUsage, formatBytes, requestPersistence, storageUsage, usageText } from './storage-usage.js';
import { OpenShare, ShareConnection } from './share-connection.js';

export type { ElementAssets } from './vm-launch.js';

export type VmState = 'idle' | 'loading' | 'booting' | 'running' | 'stopped' | 'error';

export interface ProgressDetail { what: string; loaded: number; total: number }
export interface ErrorDetail { code: string; message: string }
export interface OpfsReadyDetail { root: string; backend: Backend }
export interface ExitDetail { code: number | null; reason: 'stopped' | 'exited' | 'error' }
export interface OutputDetail { text: string }
/**
 * How the guest got to its prompt: "boot" (booted from the image; a WASI program started),
 * "snapshot" (resumed from the share's snapshot, snapshot="auto"), "image-snapshot" (resumed from
 * the snapshot the image ships: the default guest's first start).
 */
export interface VmReadyDetail { start: 'boot' | 'snapshot' | 'image-snapshot' }
/** What saveSnapshot() stored, and how long the VM was paused for it (the rest ran beside the VM). */
export interface SavedSnapshot extends SnapshotInfo { pausedMs: number }

/** `autostart` is on unless the attribute says "false" or "off". */
const onUnlessFalse = {
  fromAttribute: (v: string | null) => v === null || (v !== 'false' && v !== 'off'),
  toAttribute: (v: boolean) => (v ? '' : 'false'),
};

/** What the status line says for a state with no message of its own. */
const STATE_TEXT: Record<VmState, string> = {
  idle: 'Not started', loading: 'Starting…', booting: 'Booting…', running: 'Running', stopped: 'Stopped', error: 'Error',
};

/**
 * @tagname container-vm
 * @summary Runs a Linux guest (v86 image manifest or container2wasm .wasm) with a terminal and a
 * persistent OPFS share mounted in the guest.
 *
 * @fires opfs-ready - The share is open: `detail` is `{ root, backend }`. `fs` works from here on.
 * @fires vm-ready - The guest is up and its shell is ready for input: `detail` is `{ start }`, how it got there:
 *   "boot", "snapshot" (the share's snapshot) or "image-snapshot" (the snapshot the image ships).
 * @fires progress - Something is loading or being copied: `detail` is `{ what, loaded, total }` (bytes; total 0 when unknown).
 *   `what` is the image URL while the VM loads, or "import", "import-zip", "export-zip" or "download" followed by a name.
 * @fires error - Something failed: `detail` is `{ code, message }`, the message says what to do. Fired once per failure. Does not bubble.
 * @fires exit - The VM stopped: `detail` is `{ code, reason }`.
 * @fires output - The guest wrote to its console: `detail` is `{ text }` (what the terminal shows, escapes included).
 *
 * @csspart terminal - The terminal's region.
 * @csspart status - The status line under the terminal (progress and errors).
 * @csspart usage - The site's storage use in the status line (navigator.storage.estimate()).
 * @csspart start - The start button shown while the VM waits to be started (autostart="false", or after it stopped or failed).
 *
 * @cssprop --container-vm-background - Terminal background colour.
 * @cssprop --container-vm-foreground - Terminal text colour.
 * @cssprop --container-vm-cursor - Terminal cursor colour.
 * @cssprop --container-vm-selection - Terminal selection colour.
 * @cssprop --container-vm-font-family - Terminal font.
 * @cssprop --container-vm-font-size - Terminal font size in pixels (a number).
 * @cssprop --container-vm-status-background - Status line background.
 * @cssprop --container-vm-error-background - Status line background when it shows an error.
 * @cssprop --container-vm-error-foreground - Status line text when it shows an error.
 */
export class ContainerVm extends LitElement {
  /** Where every element finds its workers and wasm files, unless its asset-base says otherwise. */
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
    keepRunning: { type: Boolean, attribute: 'keep-running', reflect: true },
    network: { type: String, reflect: true },
    shareCache: { type: String, attribute: 'share-cache', reflect: true },
    guest: { type: String, reflect: true },
    fresh: { type: Boolean, reflect: true },
    corsProxy: { type: String, attribute: 'cors-proxy', reflect: true },
    assetBase: { type: String, attribute: 'asset-base', reflect: true },
    theme: { type: String, reflect: true },
    screenReader: { type: Boolean, attribute: 'screen-reader', reflect: true },
    state: { type: String, reflect: true, attribute: 'state' },
  };

  static override styles = elementStyles;

  /**
   * The image: a v86 manifest (.json), an OCI image (a layout folder's URL ending in "/", or a .tar
   * of one; linux/386) or a container2wasm image (.wasm). Setting it (re)starts the VM when autostart is on.
   */
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
  /**
   * Where a v86 VM starts. By default from the snapshot its image ships (the default guest does:
   * booted to the shell), else it boots. "auto": from the latest snapshot saved with saveSnapshot()
   * first. "off": it always boots.
   */
  declare snapshot: string;
  /** Ask the browser to keep this site's storage under storage pressure (navigator.storage.persist()). */
  declare persist: boolean;
  /**
   * Keep the VM running while the page is hidden (another tab in front, the window minimized), for
   * work that should go on in the background. Without it a v86 VM pauses while the page is hidden,
   * costing nothing, and its guest's clock is set right when it runs again.
   */
  declare keepRunning: boolean;
  /**
   * The guest's network (v86), read when the VM starts: none when absent; "fetch": HTTP through the
   * page's fetch(); a Wisp relay's URL (wss://relay.example.org/): TCP through that relay.
   */
  declare network: string;
  /**
   * How a v86 guest mounts the share, read when the VM starts: none (the default: every access asks
   * the storage worker) or loose (the guest caches names, attributes and pages: reading many small
   * files gets faster, big writes slower; the guest agent drops the cache after each change from the
   * page, and writes back what the guest wrote before the page reads the share or the VM pauses).
   * With loose the default guest boots instead of resuming its image's snapshot.
   */
  declare shareCache: string;
  /** OCI images: the v86 guest that boots them (its manifest's URL, as guest/build.sh makes it). */
  declare guest: string;
  /** OCI images: every start begins from the image's pristine root file system (what reset() does). */
  declare fresh: boolean;
  /** network="fetch": a CORS proxy's URL prefix, to which each encoded target URL is appended. */
  declare corsProxy: string;
  /**
   * The URL of the folder holding the element's workers and wasm files (dist/), when they are not
   * beside container-vm.js: a bundled page, or a host that splits its files.
   */
  declare assetBase: string;
  /** auto (the page's prefers-color-scheme), dark or light. */
  declare theme: 'auto' | 'dark' | 'light';
  /** Turns on xterm's screen reader mode: the terminal's text is exposed to assistive technology. */
  declare screenReader: boolean;
  /** What the VM is doing; reflected as the `state` attribute for styling. */
  declare state: VmState;

  /** The status line's text and the progress bar's fill (0..1, null: no bar). */
  private statusText = '';
  private progressFraction: number | null = null;
  /** While files are copied in or out: what the status line says instead of the VM's state. */
  private transferText: string | null = null;
  private usage: StorageUsage | null = null;

  private terminal: TerminalView | null = null;
  private readonly share = new ShareConnection({
    reloading: () => this.setState('loading', 'Reloading the page with cross-origin isolation…'),
    opened: () => {
      // Not awaited: Firefox asks the user, and the share must not wait for an answer.
      if (this.persist) void requestPersistence().then(() => this.storageUsage(), () => undefined);
      void this.storageUsage();
      this.emit<OpfsReadyDetail>('opfs-ready', { root: this.opfsRoot, backend: this.backend });
    },
    noSpace: () => this.quotaExceeded(),
    failed: (e) => this.fail(toVmError(e, 'storage-failed')),
  });
  private vm: LaunchedVm | null = null;
  private agent: GuestAgent | null = null;
  /** The VM is paused because the page is hidden. */
  private held = false;
  /** The page was hidden: the guest agent writes back a cached share before the VM pauses. */
  private writingBackBeforeHold = false;
  /** Start, stop and restart, one after another. */
  private lifecycle: Promise<unknown> = Promise.resolve();
  /** A start queued or running (start() while one is pending returns it). */
  private starting: Promise<void> | null = null;
  private shutdownTimer: ReturnType<typeof setTimeout> | null = null;
  private shuttingDown: Promise<void> | null = null;
  private savingSnapshot = false;
  /** The image's snapshot did not restore: the next start boots instead. */
  private skipImageSnapshot = false;
  private readonly marker = new ReadyMarkerScanner();
  private readonly outputDecoder = new TextDecoder();
  private readonly files = new ShareFiles(() => this.openSettledShare(), () => this.shareChanged());
  private readonly transfers = new ShareTransfers(async () => (await this.openSettledShare()).fs, {
    progress: (what, text, fraction, loaded, total) => {
      this.transferText = text;
      this.progressFraction = fraction;
      this.requestUpdate();
      this.emit<ProgressDetail>('progress', { what, loaded, total });
    },
    ended: () => {
      this.transferText = null;
      this.progressFraction = null;
      this.requestUpdate();
      // A copy (or a failed one) changes what the site stores: keep the status line's figure true.
      if (this.share.active) void this.storageUsage().catch(() => undefined);
    },
  }, () => this.shareChanged());

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
    this.keepRunning = false;
    this.network = '';
    this.shareCache = '';
    this.guest = '';
    this.fresh = false;
    this.corsProxy = '';
    this.assetBase = '';
    this.theme = 'auto';
    this.screenReader = false;
    this.state = 'idle';
  }

  /** The share's files, through the storage worker: readFile, writeFile, readDir, stat, mkdir, remove, rename. */
  get fs(): ShareFiles {
    return this.files;
  }

  override render() {
    const waiting = !!this.src && (this.state === 'stopped' || this.state === 'error' || (this.state === 'idle' && !this.autostart));
    return html`
      <div part="terminal" role="region" aria-label="Linux terminal"></div>
      ${waiting ? html`<button part="start" @click=${() => void this.start().catch(() => undefined)}>Start</button>` : nothing}
      <div part="status" class=${this.state === 'error' ? 'error' : ''} role="status" aria-live="polite">
        <span>${this.transferText ?? (this.statusText || STATE_TEXT[this.state])}</span>
        ${this.progressFraction !== null ? html`<progress max="1" .value=${this.progressFraction}></progress>` : nothing}
        ${this.usage ? html`<span part="usage">${usageText(this.usage)}</span>` : nothing}
      </div>
      <span class="theme-probe" aria-hidden="true"></span>
    `;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    if (this.shutdownTimer !== null) {
      // Moved within the page (removed and added back in one go): nothing stops.
      clearTimeout(this.shutdownTimer);
      this.shutdownTimer = null;
    } else if (this.hasUpdated) {
      // Added back after it was shut down: a new terminal, and a new start when autostart is on.
      void (this.shuttingDown ?? Promise.resolve()).then(() => {
        if (!this.isConnected) return;
        this.requestUpdate();
        if (this.autostart && this.src && !this.vm) void this.start().catch(() => undefined);
      });
    }
    this.addEventListener('dragover', this.onDragOver);
    this.addEventListener('dragleave', this.onDragLeave);
    this.addEventListener('drop', this.onDrop);
    document.addEventListener('visibilitychange', this.holdWhileHidden);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.removeEventListener('dragover', this.onDragOver);
    this.removeEventListener('dragleave', this.onDragLeave);
    this.removeEventListener('drop', this.onDrop);
    document.removeEventListener('visibilitychange', this.holdWhileHidden);
    this.shutdownTimer = setTimeout(() => {
      this.shutdownTimer = null;
      this.shuttingDown = this.shutdown().finally(() => { this.shuttingDown = null; });
    }, 0);
  }

  override updated(changed: PropertyValues<this>): void {
    if (!this.terminal && this.isConnected) this.createTerminal();
    if (changed.has('screenReader') && this.terminal) this.terminal.screenReader = this.screenReader;
    if (changed.has('keepRunning')) this.holdWhileHidden();
    const storageChanged = (changed.has('opfsRoot') && changed.get('opfsRoot') !== undefined) ||
      (changed.has('backend') && changed.get('backend') !== undefined);
    if (storageChanged && this.share.active) {
      // Another share: close this one (stopping a VM that uses it) and start again if it ran.
      const wasRunning = !!this.vm || !!this.starting;
      void this.queue(async () => {
        await this.stopVm('stopped');
        await this.share.close();
      });
      if (wasRunning) void this.start().catch(() => undefined);
      return;
    }
    if (!changed.has('src') || !this.isConnected) return;
    if (this.vm || this.starting) {
      // A new image, like a <video>'s new src: the old one stops, the new one starts.
      void this.queue(() => this.stopVm('stopped'));
      if (this.src) void this.start().catch(() => undefined);
    } else if (this.autostart && this.src) {
      void this.start().catch(() => undefined);
    }
  }

  /** Starts the VM (and opens the share, if it is not open yet). Resolves once the emulator runs. */
  start(): Promise<void> {
    this.starting ??= this.queue(() => this.boot()).finally(() => { this.starting = null; });
    return this.starting;
  }

  /** Stops the VM; the share stays open for `fs`. */
  stop(): Promise<void> {
    return this.queue(() => this.stopVm('stopped'));
  }

  /** Stops the VM and starts it again. */
  async restart(): Promise<void> {
    await this.stop();
    this.terminal?.write('\r\n');
    await this.start();
  }

  /**
   * OCI images: returns the root file system to the image's pristine state. A running VM stops,
   * its root is removed, and it starts again unpacking the image afresh; the share is untouched.
   */
  async reset(): Promise<void> {
    const wasRunning = !!this.vm || !!this.starting;
    await this.queue(async () => {
      await this.stopVm('stopped');
      // The share's lock also guards its roots: no other tab is using them.
      await this.openStorage();
      await resetRoots(this.opfsRoot);
    });
    if (wasRunning) await this.start();
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
    const vm = this.vm;
    if (vm?.root) throw new VmError('snapshot-failed', 'snapshots are not made of VMs running an OCI image: they boot from their root file system each time.');
    if (!vm?.image || this.state !== 'running') {
      throw new VmError('snapshot-failed', 'saveSnapshot() needs a running v86 VM whose shell is ready: call it after vm-ready.');
    }
    if (this.savingSnapshot) throw new VmError('snapshot-failed', 'a snapshot is being saved already: await the first saveSnapshot().');
    this.savingSnapshot = true;
    try {
      const { host } = await this.openStorage();
      const pausedAt = performance.now();
      const state = await vm.engine.pauseAndSave();
      let session;
      try {
        session = await host.exportSession(vm.endpoint);
      } finally {
        vm.engine.resume();
      }
      const pausedMs = performance.now() - pausedAt;
      try {
        const info = await (await SnapshotStore.open(this.opfsRoot)).save(state, session, vm.image);
        void this.storageUsage();
        return { ...info, pausedMs };
      } catch (e) {
        if ((e as { name?: string }).name === 'QuotaExceededError') this.quotaExceeded();
        throw new VmError('snapshot-failed', `could not store the snapshot: ${toVmError(e, 'snapshot-failed').message}. The previous snapshot, if any, is kept.`);
      }
    } finally {
      this.savingSnapshot = false;
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
    this.vm?.engine.input(text);
  }

  /**
   * Copies files and folders into the share under `dest` (a path relative to the share root):
   * a drop's DataTransfer, a FileList, Files, or File System Access handles.
   */
  importFiles(source: ImportSource, dest = ''): Promise<ImportResult> {
    const name = typeof FileSystemHandle !== 'undefined' && source instanceof FileSystemHandle ? source.name : 'files';
    return this.reported(this.transfers.importFiles(source, dest, name));
  }

  /** Fetches a zip file and unpacks it into the share under `dest`: to seed a share. */
  importZip(url: string, dest = ''): Promise<ImportResult> {
    return this.reported(this.transfers.importZip(url, dest));
  }

  /** The share (or the folder `path` of it) as a zip file, with modes, symlinks and mtimes. */
  exportZip(path = '', options: Omit<ZipExportOptions, 'onProgress'> = {}): Promise<Blob> {
    return this.reported(this.transfers.exportZip(path, options));
  }

  /** Saves the share (or the folder `path`) as a zip download named `filename`. */
  async downloadZip(filename = 'share.zip', path = ''): Promise<void> {
    saveBlob(await this.exportZip(path), filename);
  }

  /** Saves one file of the share as a download. */
  downloadFile(path: string): Promise<void> {
    return this.reported(this.transfers.downloadFile(path));
  }

  /** A copy's failure is an `error` event (once) and a rejected promise; the VM keeps running. */
  private async reported<T>(work: Promise<T>): Promise<T> {
    try {
      return await work;
    } catch (e) {
      const err = toVmError(e, 'transfer-failed');
      this.report(err);
      throw err;
    }
  }

  private readonly onDragOver = (e: DragEvent) => {
    if (!e.dataTransfer?.types.includes('Files')) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = 'copy';
    this.toggleAttribute('dropping', true);
  };

  private readonly onDragLeave = () => this.toggleAttribute('dropping', false);

  /**
   * A v86 VM pauses while the page is hidden (unless keep-running), so that a background tab costs
   * nothing; shown again, it runs on and the guest agent sets the guest's clock, which stood still.
   * The wasi engine runs on: a WASI program reads the page's clock and would see it jump.
   */
  private readonly holdWhileHidden = () => {
    const vm = this.vm;
    if (!vm || this.shouldHold(vm) === this.held || this.writingBackBeforeHold) return;
    if (!this.held && vm.shareCache !== 'none' && this.agent) {
      // The guest's writes to a cached share may be in its RAM only, and a hidden page may be
      // closing: have them written to the share first, then pause (as the page is then).
      this.writingBackBeforeHold = true;
      void this.agent.writeBack(true).finally(() => {
        this.writingBackBeforeHold = false;
        if (this.vm === vm) this.setHeld(vm, this.shouldHold(vm));
      });
      return;
    }
    this.setHeld(vm, this.shouldHold(vm));
  };

  private shouldHold(vm: LaunchedVm): boolean {
    return vm.kind === 'v86' && document.hidden && !this.keepRunning;
  }

  private setHeld(vm: LaunchedVm, hold: boolean): void {
    if (hold === this.held) return;
    this.held = hold;
    vm.engine.hold(hold);
    if (!hold) this.agent?.resumed();
  }

  /**
   * The share, for a read or a change from the page: with a guest that caches it (share-cache=
   * "loose"), once the guest agent wrote back what the guest holds of its files, so that the page
   * reads what the guest wrote. Without a cache a guest's write() is on the share when it returns.
   */
  private async openSettledShare(): Promise<OpenShare> {
    const vm = this.vm;
    if (vm?.kind === 'v86' && vm.shareCache !== 'none' && this.agent && !this.held) await this.agent.writeBack(true);
    return this.openStorage();
  }

  /**
   * The page changed the share: a running v86 guest may cache what it read (p9.cache=loose), so
   * its agent drops those caches; resolves once it confirmed (sooner when the VM is paused, or when
   * no agent answers; GuestAgent.dropCaches). With no VM, or a WASI program, which caches nothing,
   * there is nothing to do.
   */
  private async shareChanged(): Promise<void> {
    if (this.vm?.kind !== 'v86' || !this.agent) return;
    await this.agent.dropCaches(!this.held);
  }

  private readonly onDrop = (e: DragEvent) => {
    this.toggleAttribute('dropping', false);
    if (!e.dataTransfer?.types.includes('Files')) return;
    e.preventDefault();
    // The drop's items are readable only now, before the first await. A failure is reported by
    // the error event; there is no caller to reject to.
    this.reported(this.transfers.importFiles(captureDrop(e.dataTransfer), '', 'dropped files')).catch(() => undefined);
  };

  /** Runs `op` after every start, stop and restart asked for before it. */
  private queue<T>(op: () => Promise<T>): Promise<T> {
    const run = this.lifecycle.then(op);
    this.lifecycle = run.catch(() => undefined);
    return run;
  }

  private createTerminal(): void {
    const container = this.renderRoot.querySelector<HTMLElement>('[part="terminal"]')!;
    const probe = this.renderRoot.querySelector<HTMLElement>('.theme-probe')!;
    this.terminal = new TerminalView(container, probe, {
      onInput: (data) => this.vm?.engine.input(data),
      onResize: (cols, rows) => this.agent?.resized(cols, rows),
      screenReader: this.screenReader,
    });
  }

  private async boot(): Promise<void> {
    if (this.vm) return;
    try {
      this.setState('loading', 'Starting…');
      const network = parseNetwork(this.network, this.corsProxy);
      const shareCache = parseShareCache(this.shareCache);
      const kind = checkLaunch(this.src, this.engine, network, shareCache, this.guest);
      // Read while the share opens: the manifest and the snapshot are the slow part of a resume.
      const imageSnapshot = this.snapshot !== 'off' && !this.skipImageSnapshot;
      this.skipImageSnapshot = false;
      const v86Start = kind === 'v86' && !isOciSource(this.src)
        ? readV86Start(this.src, this.mount, network, shareCache, this.snapshot === 'auto' ? this.loadSnapshot() : null, imageSnapshot,
          (what, loaded, total) => this.loadProgress(what, loaded, total))
        : null;
      // Its failure (say, a manifest that cannot be fetched) is reported once launchVm awaits it.
      v86Start?.catch(() => undefined);
      const { host } = await this.openStorage();
      if (this.fresh) await resetRoots(this.opfsRoot);
      this.marker.reset();
      const agent = new GuestAgent((line) => this.vm?.engine.agent(line));
      const size = this.terminal?.size ?? { cols: 80, rows: 24 };
      agent.resized(size.cols, size.rows);
      const vm = await launchVm({
        src: this.src, engine: this.engine, mount: this.mount, args: this.args, env: this.env,
        network, shareCache,
        assets: this.requireAssets(), host, terminalSize: size, v86Start,
        opfsRoot: this.opfsRoot, backend: this.backend, guest: this.guest, onNoSpace: () => this.quotaExceeded(),
      }, {
        output: (data) => this.guestOutput(vm, data),
        agentOutput: (data) => agent.receive(data),
        progress: (what, loaded, total) => this.loadProgress(what, loaded, total),
        started: () => this.vmStarted(vm),
        exited: (code) => void this.queue(() => this.vmExited(vm, code)),
        error: (e) => this.vmFailed(vm, e),
      });
      this.vm = vm;
      this.agent = agent;
      // Started in a hidden page: it runs once the page is shown.
      this.holdWhileHidden();
    } catch (e) {
      this.fail(toVmError(e, 'engine-failed'));
    }
  }

  /** Something the VM needs is downloading (or an OCI image unpacking). */
  private loadProgress(what: string, loaded: number, total: number): void {
    const name = what.split('/').pop() ?? what;
    this.progressFraction = total ? loaded / total : null;
    this.setState('loading', what === 'unpack' ? progressText('Unpacking', 'the image', loaded, total) : progressText('Downloading', name, loaded, total));
    this.emit<ProgressDetail>('progress', { what, loaded, total });
  }

  private guestOutput(vm: LaunchedVm, data: Uint8Array): void {
    this.terminal?.write(data);
    this.emit<OutputDetail>('output', { text: this.outputDecoder.decode(data, { stream: true }) });
    if (vm.kind === 'v86' && this.marker.scan(data)) this.ready('boot');
  }

  private vmStarted(vm: LaunchedVm): void {
    this.progressFraction = null;
    this.terminal?.focus();
    if (vm.kind === 'wasi') {
      // A WASI program reads its input from the start: it is ready as soon as it runs.
      this.ready('boot');
    } else if (vm.resumed) {
      // The snapshot was taken with the shell ready (saveSnapshot() requires it).
      this.terminal?.write(`\x1b[2m[resumed from the snapshot of ${vm.resumed.savedAt.toLocaleString()}]\x1b[0m\r\n`);
      this.agent?.resumed();
      // The share may have changed since the snapshot: its guest's caches are not to be trusted.
      void this.agent?.dropCaches(false);
      this.ready('snapshot');
    } else if (vm.imageSnapshot) {
      // Saved at the prompt: the terminal shows what the boot showed, as if it had just booted.
      const text = vm.imageSnapshot.console;
      this.terminal?.write(text);
      this.emit<OutputDetail>('output', { text });
      this.agent?.resumed();
      // The shipped snapshot was taken over another, empty share.
      void this.agent?.dropCaches(false);
      this.ready('image-snapshot');
    } else {
      this.setState('booting', 'Booting…');
    }
  }

  private ready(start: VmReadyDetail['start']): void {
    this.setState('running', 'Running');
    this.emit<VmReadyDetail>('vm-ready', { start });
  }

  private vmFailed(vm: LaunchedVm, e: VmError): void {
    if (vm !== this.vm) return;
    if ((vm.resumed || vm.imageSnapshot) && e.code === 'snapshot-failed' && this.state !== 'running') {
      void this.queue(() => this.bootAfterBadSnapshot(e));
      return;
    }
    // The relay went away: the guest runs on without a network.
    if (e.code === 'network-unavailable') {
      this.statusText = e.message;
      this.requestUpdate();
      this.report(e);
      return;
    }
    // A VM that failed before it ran (or a WASI program, whose worker is gone) is let go, so that
    // start() can try again; a running guest keeps running.
    if (vm.kind === 'wasi' || this.state !== 'running') {
      void this.queue(async () => {
        await vm.engine.stop();
        await this.releaseVm(vm);
      });
    }
    this.fail(e);
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

  /**
   * A snapshot that does not restore is removed (the share's) or passed over once (the image's),
   * and the VM boots instead.
   */
  private async bootAfterBadSnapshot(e: VmError): Promise<void> {
    const vm = this.vm;
    if (vm?.imageSnapshot) {
      console.warn(`container-vm: the image's snapshot: ${e.message}; the VM boots instead`);
      this.skipImageSnapshot = true;
    } else {
      console.warn(`container-vm: ${e.message}; it is discarded and the VM boots instead`);
      await this.discardSnapshot().catch(() => undefined);
    }
    if (vm) {
      await vm.engine.stop();
      await this.releaseVm(vm);
    }
    await this.boot();
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
  private async vmExited(vm: LaunchedVm, code: number): Promise<void> {
    if (vm !== this.vm) return;
    await this.releaseVm(vm);
    this.setState('stopped', `Exited with code ${code}`);
    this.emit<ExitDetail>('exit', { code, reason: 'exited' });
  }

  private async stopVm(reason: 'stopped'): Promise<void> {
    const vm = this.vm;
    if (!vm) return;
    await vm.engine.stop();
    await this.releaseVm(vm);
    this.setState('stopped', STATE_TEXT.stopped);
    this.emit<ExitDetail>('exit', { code: null, reason });
  }

  /** Forgets a VM whose engine has stopped, and ends its share connection. */
  private async releaseVm(vm: LaunchedVm): Promise<void> {
    if (this.vm === vm) {
      this.vm = null;
      this.agent?.dispose();
      this.agent = null;
      this.held = false;
    }
    await this.share.disconnect(vm.endpoint);
    await vm.root?.close().catch(() => undefined);
  }

  /** The open share (opened on first use); a failure to open it fires one `error`. */
  private async openStorage(): Promise<OpenShare> {
    try {
      return await this.share.open(() => ({
        root: this.opfsRoot, backend: this.backend, workerUrl: this.requireAssets().storageWorker,
      }));
    } catch (e) {
      const err = toVmError(e, 'storage-failed');
      this.fail(err);
      throw err;
    }
  }

  private requireAssets(): ElementAssets {
    // A folder: "https://cdn.example/container-vm" means the folder, not a file in its parent.
    if (this.assetBase) return assetsIn(new URL(this.assetBase.replace(/\/?$/, '/'), document.baseURI));
    if (!ContainerVm.assets) {
      throw new VmError('assets-unreachable', 'container-vm was loaded without its entry module: import container-vm.js (or set asset-base to the folder of its files), not the element class alone.');
    }
    return ContainerVm.assets;
  }

  /** Removed from the page: the VM stops, the share closes, the terminal goes (made again when added back). */
  private async shutdown(): Promise<void> {
    await this.queue(async () => {
      await this.stopVm('stopped');
      await this.share.close();
    });
    this.terminal?.dispose();
    this.terminal = null;
    this.setState('idle', '');
  }

  /** Reports an error: state, terminal line and one `error` event. */
  private fail(e: VmError): void {
    if (e.reported) return;
    this.progressFraction = null;
    this.setState('error', e.message);
    // Bright red: the terminal raises it to 4.5:1 contrast against any background (minimumContrastRatio).
    this.terminal?.write(`\r\n\x1b[91mcontainer-vm: ${e.message}\x1b[0m\r\n`);
    this.report(e);
  }

  /** Fires the `error` event for `e` unless it was fired already. */
  private report(e: VmError): void {
    if (e.reported) return;
    e.reported = true;
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

/**
 * Fires one of the element's events. `error` does not bubble, like an <img>'s: on window it would
 * look like an uncaught exception. (Outside the class, so that the manifest analyzer does not take
 * `type` for an event's name.)
 */
function dispatch<T>(target: EventTarget, type: string, detail: T): void {
  const bubbles = type !== 'error';
  target.dispatchEvent(new CustomEvent<T>(type, { detail, bubbles, composed: bubbles }));
}

/** The element's events, so that `vm.addEventListener('error', (e) => e.detail.code)` is typed. */
export interface ContainerVmEventMap extends Omit<HTMLElementEventMap, 'error' | 'progress'> {
  'opfs-ready': CustomEvent<OpfsReadyDetail>;
  'vm-ready': CustomEvent<VmReadyDetail>;
  progress: CustomEvent<ProgressDetail>;
  error: CustomEvent<ErrorDetail>;
  exit: CustomEvent<ExitDetail>;
  output: CustomEvent<OutputDetail>;
}

export interface ContainerVm {
  addEventListener<K extends keyof ContainerVmEventMap>(type: K, listener: (this: ContainerVm, ev: ContainerVmEventMap[K]) => unknown, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof ContainerVmEventMap>(type: K, listener: (this: ContainerVm, ev: ContainerVmEventMap[K]) => unknown, options?: boolean | EventListenerOptions): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: boolean | EventListenerOptions): void;
}

declare global {
  interface HTMLElementTagNameMap {
    'container-vm': ContainerVm;
  }
}
