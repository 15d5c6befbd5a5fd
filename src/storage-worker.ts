// The storage worker: the only code that touches the share in OPFS. It runs a 9P server (M1 in
// TypeScript, or L1 in Rust/WebAssembly when `backend` is "l1") behind the SharedArrayBuffer
// channel, and takes control messages (open, connect, disconnect, close) from the StorageHost
// that started it. It holds the share's Web Lock (storage/share-lock.ts) from open to close, so no
// other tab serves the same share. If L1 traps, the worker tells the host (a 'failed' event) and answers EIO.

import { ChannelServer } from './channel/channel-server.js';
import { HostRequest, WorkerEvent, WorkerReply } from './storage/storage-protocol.js';
import { L1Server } from './l1/l1-server.js';
import { M1Server } from './m1/m1-server.js';
import { NinePServer, SessionState } from './storage/server-api.js';
import { acquireShareLock } from './storage/share-lock.js';
import { storageWorkerSupportError, syncAccessRefused } from './browser-support.js';
import { toVmError } from './errors.js';

let channel: ChannelServer | null = null;
let releaseShareLock: (() => void) | null = null;

/** A full quota fails many writes in a row: tell the host at most this often. */
const NO_SPACE_NOTICE_MS = 1000;
let lastNoSpaceNotice = -Infinity;
function noticeNoSpace(): void {
  if (performance.now() - lastNoSpaceNotice < NO_SPACE_NOTICE_MS) return;
  lastNoSpaceNotice = performance.now();
  self.postMessage({ event: 'no-space' } satisfies WorkerEvent);
}

async function openServer(root: string, backend: string): Promise<NinePServer> {
  if (backend === 'm1') return M1Server.open(root);
  if (backend === 'l1') {
    // Beside this file in build/src and in dist/ (scripts/build-assets.mjs, rollup.config.mjs).
    const server = await L1Server.open(root, new URL('./l1.wasm', import.meta.url));
    server.onFailure = (e) => self.postMessage({ event: 'failed', error: e.message, code: e.code } satisfies WorkerEvent);
    return server;
  }
  throw Object.assign(new Error(`unknown backend "${backend}": use backend="m1" or "l1"`), { code: 'backend-unavailable' });
}

async function handle(msg: HostRequest): Promise<{ doorbell?: SharedArrayBuffer; session?: SessionState }> {
  switch (msg.type) {
    case 'open': {
      if (channel) throw new Error('the storage worker already serves a share');
      const unsupported = storageWorkerSupportError();
      if (unsupported) throw unsupported;
      releaseShareLock = await acquireShareLock(msg.root);
      let server: NinePServer;
      try {
        server = await openServer(msg.root, msg.backend);
        channel = new ChannelServer(server, noticeNoSpace);
      } catch (e) {
        releaseShareLock();
        releaseShareLock = null;
        throw syncAccessRefused(e) ?? e;
      }
      channel.start();
      // After this reply, while the host connects: the first listing then runs warm code.
      setTimeout(() => server.warmUp?.(), 0);
      return { doorbell: channel.doorbell };
    }
    case 'connect':
      channel!.addConnection(msg.endpoint);
      if (msg.resume) await channel!.importSession(msg.endpoint.connectionId, msg.resume);
      return {};
    case 'export-session':
      return { session: await channel!.exportSession(msg.connectionId) };
    case 'disconnect':
      await channel?.removeConnection(msg.connectionId);
      return {};
    case 'close':
      await channel?.stop();
      channel = null;
      releaseShareLock?.();
      releaseShareLock = null;
      return {};
  }
}

// Control messages run one at a time, in order.
let queue = Promise.resolve();
self.onmessage = (e: MessageEvent<HostRequest>) => {
  const msg = e.data;
  queue = queue.then(async () => {
    let reply: WorkerReply;
    try {
      reply = { id: msg.id, ok: true, ...(await handle(msg)) };
    } catch (err) {
      const { message, code } = toVmError(err, 'storage-failed');
      reply = { id: msg.id, ok: false, error: message, code };
    }
    self.postMessage(reply);
  });
};
