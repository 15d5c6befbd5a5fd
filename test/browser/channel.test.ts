// The SharedArrayBuffer channel: the blocking client in a worker, several clients at once.

import { expect } from 'chai';
import { Backend } from '../../src/storage/storage-protocol.js';
import { StorageHost } from '../../src/storage/storage-host.js';
import { OpenFlag } from '../../src/wire/messages.js';
import { openSession, untext, wipe } from './support.js';

describe('channel', function () {
  this.timeout(60000);
  const root = '/channel-tests';

  function runSyncWorker(endpoint: unknown, files: number): Promise<Record<string, string>> {
    const worker = new Worker(new URL('./workers/sync-client-worker.js', import.meta.url), { type: 'module' });
    return new Promise((resolve, reject) => {
      worker.onmessage = (e) => { worker.terminate(); resolve(e.data); };
      worker.onerror = (e) => { worker.terminate(); reject(new Error(e.message)); };
      worker.postMessage({ endpoint, files });
    });
  }

  it('serves a blocking client in a worker, with errors as errnos', async () => {
    await wipe(root);
    const host = await StorageHost.start({ root });
    try {
      const result = await runSyncWorker(await host.connect(1), 3);
      expect(result.failure).to.equal(undefined);
      expect(result.version).to.equal('9P2000.L');
      expect(result['read-2']).to.equal('written synchronously 2');
      expect(result.missing).to.equal('ENOENT');
    } finally {
      await host.close();
    }
  });

  it('answers a batch of messages on the slots after the first two in one pass', async () => {
    await wipe(root);
    const host = await StorageHost.start({ root });
    try {
      const result = await runSyncWorker(await host.connect(6), 3);
      expect(result.failure).to.equal(undefined);
      expect(result.batch).to.deep.equal(['sync-0:walked', 'sync-1:walked', 'sync-2:walked', 'missing:error']);
      expect(result.tooMany).to.equal('RangeError');
    } finally {
      await host.close();
    }
  });

  it('serves blocking and pipelined clients at the same time', async () => {
    await wipe(root);
    const s = await openSession('m1', root);
    try {
      const worker = runSyncWorker(await s.host.connect(1), 50);
      // Meanwhile, many requests in flight at once from this page's async client.
      const fids = await Promise.all(Array.from({ length: 30 }, (_, i) => s.root.walk([]).then(async (fid) => {
        await fid.create(`async-${i}`, OpenFlag.ReadWrite, 0o644);
        await fid.write(0, new TextEncoder().encode(`async ${i}`));
        return fid;
      })));
      const reads = await Promise.all(fids.map((fid) => fid.read(0, 100)));
      expect(reads.map(untext)).to.deep.equal(fids.map((_, i) => `async ${i}`));
      const result = await worker;
      expect(result.failure).to.equal(undefined);
      expect(result['read-49']).to.equal('written synchronously 49');
    } finally {
      await s.host.close();
    }
  });

  it('reports a clear error when the backend is not available', async () => {
    let message = '';
    try { await StorageHost.start({ root, backend: 'x9' as Backend }); } catch (e) { message = (e as Error).message; }
    expect(message).to.match(/backend "x9"/);
  });
});
