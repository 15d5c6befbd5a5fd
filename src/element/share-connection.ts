// The element's share: its storage worker and the page's own 9P session on it (for `fs` and
// transfers), opened on first use, once, and closed when the element lets the share go.

import { isolationReload } from '../browser-support.js';
import { ShareFs } from '../client/share-fs.js';
import { toVmError } from '../errors.js';
import { StorageError, StorageHost } from '../storage/storage-host.js';
import { Backend } from '../storage/storage-protocol.js';

export interface OpenShare { host: StorageHost; fs: ShareFs }

export interface ShareSettings { root: string; backend: Backend; workerUrl: URL }

export interface ShareEvents {
  /** The page is about to reload itself with cross-origin isolation (the service-worker option). */
  reloading(): void;
  opened(): void;
  /** A write failed for want of quota (ENOSPC). */
  noSpace(): void;
  /** The server failed for good after opening (L1 trapped): requests now get EIO. */
  failed(e: StorageError): void;
}

export class ShareConnection {
  private share: Promise<OpenShare> | null = null;

  constructor(private readonly events: ShareEvents) {}

  /** Whether the share is open or opening. */
  get active(): boolean { return this.share !== null; }

  /**
   * The open share, opening it on the first call. A failure (a VmError) stops the worker,
   * releasing the share's lock, so that the next call can try again without a false share-busy.
   */
  open(settings: () => ShareSettings): Promise<OpenShare> {
    this.share ??= (async () => {
      let host: StorageHost | null = null;
      try {
        const reload = isolationReload();
        if (reload) {
          this.events.reloading();
          await reload;
        }
        const { root, backend, workerUrl } = settings();
        host = await StorageHost.start({
          root, backend, workerUrl,
          onNoSpace: () => this.events.noSpace(),
          onFailure: (e) => this.events.failed(e),
        });
        const fs = await ShareFs.connect(await host.connect(4));
        this.events.opened();
        return { host, fs };
      } catch (e) {
        this.share = null;
        await host?.close().catch(() => undefined);
        // One error object for every caller waiting, so that the element reports it once.
        throw toVmError(e, 'storage-failed');
      }
    })();
    return this.share;
  }

  /** Ends a VM's own connection to the share, if the share is open. */
  async disconnect(endpoint: Parameters<StorageHost['disconnect']>[0]): Promise<void> {
    await (await this.share?.catch(() => null))?.host.disconnect(endpoint).catch(() => undefined);
  }

  /** Closes the share (flushing it) and stops its worker. */
  async close(): Promise<void> {
    const share = this.share;
    this.share = null;
    if (share) await (await share.catch(() => null))?.host.close();
  }
}
