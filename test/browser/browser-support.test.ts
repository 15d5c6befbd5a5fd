// A browser that lacks something the element needs gets one `error` with a documented code and a
// message naming exactly what is missing; the failure releases the share, so no false share-busy
// follows once the browser can serve it.

import { expect } from 'chai';
import '../../src/container-vm.js';
import type { ContainerVm } from '../../src/element/container-vm.js';
import { StorageHost } from '../../src/storage/storage-host.js';
import { VmError, toVmError } from '../../src/errors.js';
import { makeElement, nextEvent } from './support.js';

const limitedWorker = (lack: string) => new URL(`./workers/limited-storage-worker.js?lack=${lack}`, import.meta.url);

describe('what a browser lacks', function () {
  this.timeout(30000);
  let vm: ContainerVm | null = null;

  afterEach(() => {
    vm?.remove();
    vm = null;
  });

  it('no createSyncAccessHandle in workers: unsupported-browser naming it', async () => {
    const failure = await StorageHost.start({ root: '/support-no-sah', workerUrl: limitedWorker('method') }).then(() => null, (e: VmError) => e);
    expect(failure?.code).to.equal('unsupported-browser');
    expect(failure?.message).to.match(/createSyncAccessHandle/);
    // The lock was never left behind: the real worker opens the same share at once.
    const host = await StorageHost.start({ root: '/support-no-sah' });
    await host.close();
  });

  it('createSyncAccessHandle refused by the browser (NotSupportedError): unsupported-browser, not a DOMException number', async () => {
    const failure = await StorageHost.start({ root: '/support-refused', workerUrl: limitedWorker('backend') }).then(() => null, (e: VmError) => e);
    expect(failure?.code).to.equal('unsupported-browser');
    expect(failure?.message).to.match(/createSyncAccessHandle.*Backend does not support this operation/);
    const host = await StorageHost.start({ root: '/support-refused' });
    await host.close();
  });

  it('SharedArrayBuffer missing in an isolated page: one error, unsupported-browser, and the share opens once it is there', async () => {
    const saved = globalThis.SharedArrayBuffer;
    const errors: { code: string; message: string }[] = [];
    try {
      delete (globalThis as { SharedArrayBuffer?: unknown }).SharedArrayBuffer;
      vm = makeElement({ 'opfs-root': '/support-no-sab', autostart: 'false' });
      vm.addEventListener('error', (e) => errors.push((e as unknown as CustomEvent).detail));
      const failed = await vm.fs.exists('').then(() => null, (e: VmError) => e);
      expect(failed?.code).to.equal('unsupported-browser');
    } finally {
      globalThis.SharedArrayBuffer = saved;
    }
    await new Promise((r) => setTimeout(r, 100));
    expect(errors).to.have.length(1);
    expect(errors[0]!.code).to.equal('unsupported-browser');
    expect(errors[0]!.message).to.match(/SharedArrayBuffer although the page is cross-origin isolated/);
    // Nothing was left open: the next call opens the share.
    const ready = nextEvent(vm, 'opfs-ready');
    expect(await vm.fs.exists('')).to.equal(true);
    await ready;
  });

  it('a DOMException becomes a documented code with a hint, never its legacy number', () => {
    const quota = toVmError(new DOMException('the quota is full', 'QuotaExceededError'), 'storage-failed');
    expect(quota.code).to.equal('quota-exceeded');
    expect(quota.message).to.match(/^QuotaExceededError: the quota is full\. .*free storage/);
    const other = toVmError(new DOMException('gone', 'InvalidStateError'), 'storage-failed');
    expect(other.code).to.equal('storage-failed');
    expect(other.message).to.equal('InvalidStateError: gone');
  });
});
