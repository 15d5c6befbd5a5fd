// The element's storage helpers without a VM: storage use in the status line, the persist
// attribute, and the snapshot methods' answers when there is nothing to snapshot.

import { expect } from 'chai';
import '../../src/container-vm.js';
import type { ContainerVm } from '../../src/element/container-vm.js';
import { makeElement, nextEvent, wipe } from './support.js';

describe('<container-vm> storage', function () {
  this.timeout(30000);
  let vm: ContainerVm | null = null;

  afterEach(() => {
    vm?.remove();
    vm = null;
  });

  it('reports storage use from navigator.storage.estimate() and shows it in the status line', async () => {
    await wipe('/element-usage');
    vm = makeElement({ 'opfs-root': '/element-usage' });
    const ready = nextEvent(vm, 'opfs-ready');
    await vm.fs.writeFile('a.bin', new Uint8Array(256 * 1024));
    await ready;
    const usage = await vm.storageUsage();
    const estimate = await navigator.storage.estimate();
    expect(usage.quota).to.equal(estimate.quota);
    expect(usage.usage).to.be.greaterThan(256 * 1024 - 1);
    await vm.updateComplete;
    expect(vm.shadowRoot!.querySelector('[part="usage"]')!.textContent).to.match(/ of .* used/);
  });

  it('asks for persistent storage with the persist attribute', async () => {
    vm = makeElement({ 'opfs-root': '/element-usage', persist: '' });
    expect(vm.persist).to.equal(true);
    const ready = nextEvent(vm, 'opfs-ready');
    await vm.fs.exists('');
    await ready;
    const usage = await vm.storageUsage();
    // Chromium grants it to a site it trusts enough; either way the element reports what the browser says.
    expect(usage.persisted).to.equal(await navigator.storage.persisted());
    await vm.updateComplete;
    expect(vm.shadowRoot!.querySelector('[part="usage"]')!.textContent!.includes('persistent')).to.equal(usage.persisted);
  });

  it('refuses saveSnapshot() without a running VM, and has no snapshot to report', async () => {
    vm = makeElement({ 'opfs-root': '/element-nosnap', snapshot: 'auto' });
    expect(vm.snapshot).to.equal('auto');
    await vm.discardSnapshot();
    expect(await vm.snapshotInfo()).to.equal(null);
    let code = '';
    try { await vm.saveSnapshot(); } catch (e) { code = (e as { code: string }).code; }
    expect(code).to.equal('snapshot-failed');
  });
});

describe('<container-vm snapshot="auto">', function () {
  // The second start resumes from the image's snapshot (10 MiB to fetch, unpack and restore): in
  // Firefox, beside the other browser's tests, that took over 50 s once.
  this.timeout(180000);

  it('discards a snapshot that does not restore and starts afresh instead', async () => {
    const { SnapshotStore, imageKey } = await import('../../src/element/snapshot-store.js');
    const { loadV86Manifest } = await import('../../src/element/image.js');
    const root = '/element-bad-snapshot';
    await wipe(root);
    const store = await SnapshotStore.open(root);
    await store.clear();
    // A well-formed snapshot file of this image whose state is not a v86 state.
    const { image } = await loadV86Manifest('/guest/out/manifest.json', 'cvm.mount=/mnt/opfs');
    const info = await store.save(new TextEncoder().encode('not a v86 state').buffer as ArrayBuffer, { msize: 8192, uid: 0, fids: [] }, image);
    expect(info.stateBytes).to.equal(15);
    expect((await store.load(() => undefined))!.image).to.equal(imageKey(image));

    const vm = makeElement({ src: '/guest/out/manifest.json', 'opfs-root': root, snapshot: 'auto' });
    const errors: string[] = [];
    vm.addEventListener('error', (e) => errors.push((e as unknown as CustomEvent<{ code: string }>).detail.code));
    try {
      await new Promise<void>((resolve, reject) => {
        const started = Date.now();
        const tick = () => {
          // It boots, or resumes from the snapshot the image ships.
          if (vm.state === 'booting' || vm.state === 'running') return resolve();
          if (Date.now() - started > 170000) return reject(new Error(`state ${vm.state}`));
          setTimeout(tick, 50);
        };
        tick();
      });
      expect(errors).to.deep.equal([]);
      expect(await vm.snapshotInfo()).to.equal(null);
    } finally {
      vm.remove();
    }
  });
});
