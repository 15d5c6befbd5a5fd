// The element's contract without booting a guest: attributes, the fs API, and error events.

import { expect } from 'chai';
import '../../src/container-vm.js';
import type { ContainerVm } from '../../src/element/container-vm.js';
import { hasJspi, makeElement, nextEvent, wipe } from './support.js';

describe('<container-vm>', function () {
  this.timeout(30000);
  let vm: ContainerVm | null = null;

  afterEach(() => {
    vm?.remove();
    vm = null;
  });

  it('reflects attributes as properties, with defaults', async () => {
    vm = makeElement({ autostart: 'false' });
    expect(vm.engine).to.equal('auto');
    expect(vm.backend).to.equal('m1');
    expect(vm.opfsRoot).to.equal('/shared');
    expect(vm.mount).to.equal('/mnt/opfs');
    expect(vm.autostart).to.equal(false);
    vm.opfsRoot = '/elsewhere';
    await vm.updateComplete;
    expect(vm.getAttribute('opfs-root')).to.equal('/elsewhere');
    vm.setAttribute('autostart', '');
    expect(vm.autostart).to.equal(true);
  });

  it('opens the share for fs without a VM, and fires opfs-ready', async () => {
    await wipe('/element-fs');
    vm = makeElement({ 'opfs-root': '/element-fs' });
    const ready = nextEvent(vm, 'opfs-ready');
    await vm.fs.mkdir('docs/deep', { recursive: true });
    expect((await ready).detail).to.deep.equal({ root: '/element-fs', backend: 'm1' });
    await vm.fs.writeFile('docs/deep/a.txt', 'from the page');
    expect(await vm.fs.readText('docs/deep/a.txt')).to.equal('from the page');
    expect((await vm.fs.readDir('docs')).map((e) => e.name)).to.deep.equal(['deep']);
    await vm.fs.rename('docs/deep/a.txt', 'docs/b.txt');
    expect((await vm.fs.stat('docs/b.txt')).size).to.equal('from the page'.length);
    await vm.fs.remove('docs', { recursive: true });
    expect(await vm.fs.exists('docs')).to.equal(false);
  });

  it('fires error image-unreachable for a manifest that is not there', async () => {
    vm = makeElement({ src: '/no/such/manifest.json', 'opfs-root': '/element-errors' });
    const e = await nextEvent(vm, 'error');
    expect(e.detail.code).to.equal('image-unreachable');
    expect(e.detail.message).to.match(/404/);
    expect(vm.state).to.equal('error');
    expect(vm.shadowRoot!.querySelector('[part="status"]')!.textContent).to.contain('404');
  });

  it('fires error bad-image for a manifest that is not JSON', async () => {
    vm = makeElement({ src: '/README.md', engine: 'v86', 'opfs-root': '/element-errors' });
    expect((await nextEvent(vm, 'error')).detail.code).to.equal('bad-image');
  });

  it('fires error image-unreachable for a .wasm image that is not there (wasi engine)', async () => {
    vm = makeElement({ src: '/images/alpine.wasm', 'opfs-root': '/element-errors' });
    const e = await nextEvent(vm, 'error');
    expect(e.detail.code).to.equal('image-unreachable');
    expect(e.detail.message).to.match(/404/);
  });

  it('fires error bad-image for a wasi image that is not WebAssembly', async () => {
    vm = makeElement({ src: '/README.md', engine: 'wasi', 'opfs-root': '/element-errors' });
    const e = await nextEvent(vm, 'error');
    expect(e.detail.code).to.equal('bad-image');
    expect(e.detail.message).to.match(/WebAssembly/);
  });

  it('fires error bad-arguments for an args attribute with an unclosed quote', async () => {
    vm = makeElement({ src: '/README.md', engine: 'wasi', args: 'sh -c "echo', 'opfs-root': '/element-errors' });
    expect((await nextEvent(vm, 'error')).detail.code).to.equal('bad-arguments');
  });

  it('reflects network and cors-proxy', async () => {
    vm = makeElement({ autostart: 'false', network: 'wss://relay.example.org/' });
    expect(vm.network).to.equal('wss://relay.example.org/');
    vm.network = 'fetch';
    vm.corsProxy = 'https://proxy.example.org/?url=';
    await vm.updateComplete;
    expect(vm.getAttribute('network')).to.equal('fetch');
    expect(vm.getAttribute('cors-proxy')).to.equal('https://proxy.example.org/?url=');
  });

  for (const [what, attributes] of [
    ['a network that is neither fetch nor a relay URL', { network: 'ftp://relay.example.org/' }],
    ['a relay URL without a host', { network: 'wss://' }],
    ['a cors-proxy that is not an http(s) URL', { network: 'fetch', 'cors-proxy': 'proxy.example.org' }],
  ] as const) {
    it(`fires error bad-arguments for ${what}`, async () => {
      vm = makeElement({ src: '/guest/out/manifest.json', 'opfs-root': '/element-errors', ...attributes });
      const e = await nextEvent(vm, 'error');
      expect(e.detail.code).to.equal('bad-arguments');
      expect(e.detail.message).to.match(/network|cors-proxy/);
      expect(vm.state).to.equal('error');
    });
  }

  it('fires error bad-arguments for a network on the wasi engine', async () => {
    vm = makeElement({ src: '/README.md', engine: 'wasi', network: 'fetch', 'opfs-root': '/element-errors' });
    const e = await nextEvent(vm, 'error');
    expect(e.detail.code).to.equal('bad-arguments');
    expect(e.detail.message).to.match(/v86 engine only/);
  });

  it('fires error backend-unavailable for an unknown backend', async () => {
    vm = makeElement({ src: '/guest/out/manifest.json', backend: 'x9', 'opfs-root': '/element-errors' });
    const e = await nextEvent(vm, 'error');
    expect(e.detail.code).to.equal('backend-unavailable');
    expect(e.detail.message).to.match(/"m1" or "l1"/);
  });

  it(hasJspi ? 'opens the share with backend="l1"' : 'fires backend-unavailable for backend="l1" in a browser without JSPI', async () => {
    vm = makeElement({ src: '/guest/out/manifest.json', backend: 'l1', 'opfs-root': '/element-l1' });
    if (hasJspi) {
      const e = await nextEvent(vm, 'opfs-ready');
      expect(e.detail).to.deep.equal({ root: '/element-l1', backend: 'l1' });
    } else {
      const e = await nextEvent(vm, 'error');
      expect(e.detail.code).to.equal('backend-unavailable');
      expect(e.detail.message).to.match(/JSPI/);
    }
  });
});
