// The element's storage helpers without a VM: storage use in the status line, the persist
// attribute, and the snapshot methods' answers when there is nothing to snapshot.

import { expect } from 'chai';
import '../../src/container-vm.js';
import type { ContainerVm } from '../../src/element/container-vm.js';
import { wipe } from './support.js';

function make(attributes: Record<string, string>): ContainerVm {
  const vm = document.createElement('container-vm');
  for (const [k, v] of Object.entries(attributes)) vm.setAttribute(k, v);
  document.body.append(vm);
  return vm;
}

function nextEvent(vm: HTMLElement, type: string): Promise<CustomEvent> {
  return new Promise((resolve) => vm.addEventListener(type, (e) => resolve(e as CustomEvent), { once: true }));
}

describe('<container-vm> storage', function () {
  this.timeout(30000);
  let vm: ContainerVm | null = null;

  afterEach(() => {
    vm?.remove();
    vm = null;
  });

  it('reports storage use from navigator.storage.estimate() and shows it in the status line', async () => {
    await wipe('/element-usage');
    vm = make({ 'opfs-root': '/element-usage' });
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
    vm = make({ 'opfs-root': '/element-usage', persist: '' });
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
    vm = make({ 'opfs-root': '/element-nosnap', snapshot: 'auto' });
    expect(vm.snapshot).to.equal('auto');
    await vm.discardSnapshot();
    expect(await vm.snapshotInfo()).to.equal(null);
    let code = '';
    try { await vm.saveSnapshot(); } catch (e) { code = (e as { code: string }).code; }
    expect(code).to.equal('snapshot-failed');
  });
});
