// When L1 traps, the storage worker says so (StorageHost's onFailure, which the element turns into
// an `error` event with code storage-failed), answers EIO from then on, and the share stays intact.

import { expect } from 'chai';
import { StorageError, StorageHost } from '../../src/storage/storage-host.js';
import { OpenFlag } from '../../src/wire/messages.js';
import { expectErrno, hasJspi, itRefusesL1WithoutJspi, openSession, text, untext, wipe } from './support.js';
import { TRAP_WRITE_BYTES } from './workers/trap-protocol.js';

describe('L1 failure', function () {
  if (!hasJspi) return itRefusesL1WithoutJspi();
  this.timeout(60000);
  const root = '/l1-failure';

  it('reports a trap, answers EIO afterwards and leaves the share intact', async () => {
    await wipe(root);
    const failures: StorageError[] = [];
    const host = await StorageHost.start({
      root, backend: 'l1', workerUrl: new URL('./workers/trapping-storage-worker.js', import.meta.url),
      onFailure: (e) => failures.push(e),
    });
    const s = await openSession('l1', root, host);
    const kept = await s.root.walk([]);
    await kept.create('kept', OpenFlag.ReadWrite, 0o600);
    await kept.write(0, text('safe'));
    await kept.fsync();
    await s.root.mkdir('dir', 0o700);

    const boom = await s.root.walk([]);
    await boom.create('boom', OpenFlag.ReadWrite, 0o644);
    await expectErrno(boom.write(0, new Uint8Array(TRAP_WRITE_BYTES)), 'EIO');
    for (let i = 0; i < 50 && failures.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(failures).to.have.length(1);
    expect(failures[0]!.code).to.equal('storage-failed');
    expect(failures[0]!.message).to.contain('L1 storage server stopped').and.contain('injected by the test');
    await expectErrno(s.root.getattr(), 'EIO');
    await host.close();

    const again = await openSession('l1', root);
    try {
      const f = await again.root.walk(['kept']);
      expect((await f.getattr()).mode).to.equal(0o100600);
      await f.open(OpenFlag.ReadOnly);
      expect(untext(await f.readAll())).to.equal('safe');
      expect((await (await again.root.walk(['dir'])).getattr()).mode).to.equal(0o40700);
    } finally {
      await again.host.close();
    }
  });
});
