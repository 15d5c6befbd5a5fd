// Starts a storage worker and hands out channel connections to it. Runs on the page or in any
// worker; the endpoints it returns can be posted to other workers (they hold only SharedArrayBuffers).

import { ChannelEndpoint, DEFAULT_MAX_MESSAGE, connectionBytes } from '../channel/layout.js';
import { Backend, HostRequest, WorkerEvent, WorkerReply } from './storage-protocol.js';
import { SessionState } from './server-api.js';
import { pageSupportError } from '../browser-support.js';
import { explainWorkerFailure, startModuleWorker } from '../module-worker.js';

export interface StorageOptions {
  /** OPFS directory of the share. */
  root?: string;
  backend?: Backend;
  /** Where the storage worker's module is; defaults to the one beside this file. */
  workerUrl?: URL;
  /** Called when a write failed with ENOSPC because the origin's storage quota is full (at most about once a second). */
  onNoSpace?: () => void;
  /** Called if the server fails for good after opening (L1 trapped): the share is intact, requests get EIO. */
  onFailure?: (e: StorageError) => void;
}

export class StorageError extends Error {
  constructor(message: string, readonly code: string) {
    super(message);
  }
}

type RequestBody = HostRequest extends infer R ? R extends { id: number } ? Omit<R, 'id'> : never : never;

export class StorageHost {
  private nextRequest = 1;
  private nextConnection = 1;
  private readonly pending = new Map<number, (r: WorkerReply) => void>();
  private doorbell: SharedArrayBuffer | null = null;

  private constructor(private readonly worker: Worker, workerUrl: URL, readonly root: string, readonly backend: Backend, events: Pick<StorageOptions, 'onNoSpace' | 'onFailure'>) {
    worker.onmessage = (e: MessageEvent<WorkerReply | WorkerEvent>) => {
      if ('event' in e.data) {
        if (e.data.event === 'no-space') events.onNoSpace?.();
        else events.onFailure?.(new StorageError(e.data.error, e.data.code));
        return;
      }
      this.pending.get(e.data.id)?.(e.data);
      this.pending.delete(e.data.id);
    };
    worker.onerror = async (e) => {
      e.preventDefault?.();
      // No message: the script itself could not be loaded (say, from a host without CORS headers).
      const { code, message } = e.message
        ? { code: 'storage-failed', message: `the storage worker failed: ${e.message}` }
        : await explainWorkerFailure(workerUrl, 'storage worker');
      const failure: WorkerReply = { id: 0, ok: false, error: message, code };
      for (const resolve of this.pending.values()) resolve(failure);
      this.pending.clear();
    };
  }

  static async start(options: StorageOptions = {}): Promise<StorageHost> {
    const unsupported = pageSupportError();
    if (unsupported) throw unsupported;
    const url = options.workerUrl ?? new URL('../storage-worker.js', import.meta.url);
    const host = new StorageHost(startModuleWorker(url, 'container-vm storage'), url,
      options.root ?? '/shared', options.backend ?? 'm1', options);
    try {
      const reply = await host.request({ type: 'open', root: host.root, backend: host.backend });
      host.doorbell = reply.doorbell!;
    } catch (e) {
      host.worker.terminate();
      throw e;
    }
    return host;
  }

  private request(body: RequestBody): Promise<Extract<WorkerReply, { ok: true }>> {
    const id = this.nextRequest++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, (r) => (r.ok ? resolve(r) : reject(new StorageError(r.error, r.code))));
      this.worker.postMessage({ id, ...body });
    });
  }

  /**
   * A new connection (one 9P session) with `slots` requests in flight and messages up to
   * `maxMessage` bytes. `resume` gives it the fids of a session exported before a VM snapshot.
   */
  async connect(slots = 8, maxMessage = DEFAULT_MAX_MESSAGE, resume?: SessionState): Promise<ChannelEndpoint> {
    const slotBytes = Math.ceil(maxMessage / 8) * 8;
    const endpoint: ChannelEndpoint = {
      connectionId: this.nextConnection++,
      connection: new SharedArrayBuffer(connectionBytes(slots, slotBytes)),
      doorbell: this.doorbell!,
      slots,
      slotBytes,
    };
    await this.request({ type: 'connect', endpoint, ...(resume ? { resume } : {}) });
    return endpoint;
  }

  /** A connection's 9P session state (msize, fids by path), taken while its client is paused. */
  async exportSession(endpoint: ChannelEndpoint): Promise<SessionState> {
    return (await this.request({ type: 'export-session', connectionId: endpoint.connectionId })).session!;
  }

  /** Ends a connection's session (its fids are clunked). */
  async disconnect(endpoint: ChannelEndpoint): Promise<void> {
    await this.request({ type: 'disconnect', connectionId: endpoint.connectionId });
  }

  /** Flushes the share, releases its OPFS handles and stops the worker. */
  async close(): Promise<void> {
    try {
      await this.request({ type: 'close' });
    } finally {
      this.worker.terminate();
    }
  }
}
