// The element as people see and reach it: themes that follow the page and apply live, an
// accessible terminal region and screen reader mode, a start button when autostart is off,
// readable error text, and one `error` event per failure.

import { expect } from 'chai';
import '../../src/container-vm.js';
import type { ContainerVm } from '../../src/element/container-vm.js';
import { makeElement, nextEvent } from './support.js';

const part = (vm: ContainerVm, selector: string) => vm.shadowRoot!.querySelector<HTMLElement>(selector);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until `read()` gives `want` (the theme reaches xterm a transition later). */
async function until<T>(read: () => T, want: T, what: string): Promise<void> {
  for (const started = performance.now(); performance.now() - started < 3000; await sleep(20)) if (read() === want) return;
  expect(read(), what).to.equal(want);
}

/** The colours xterm draws its text with: the DOM renderer's rule for its rows. */
function xtermForeground(vm: ContainerVm): string {
  const rules = [...vm.shadowRoot!.querySelectorAll('style')].map((s) => s.textContent ?? '').join('');
  return /\.xterm-rows \{[^}]*?color: (#[0-9a-f]{6})/.exec(rules)?.[1] ?? '';
}

/** WCAG contrast ratio of two computed `rgb(...)` colours. */
function contrast(a: string, b: string): number {
  const luminance = (c: string) => {
    const [r, g, bl] = c.match(/\d+(\.\d+)?/g)!.slice(0, 3).map(Number).map((v) => {
      const s = v / 255;
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r! + 0.7152 * g! + 0.0722 * bl!;
  };
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi! + 0.05) / (lo! + 0.05);
}

describe('<container-vm> look and reach', function () {
  this.timeout(30000);
  let vm: ContainerVm | null = null;

  afterEach(() => {
    vm?.remove();
    vm = null;
  });

  it('themes: dark, light, and custom properties that apply live to the terminal', async () => {
    vm = makeElement({ autostart: 'false', theme: 'dark', 'opfs-root': '/element-look' });
    await vm.updateComplete;
    const viewport = () => getComputedStyle(part(vm!, '.xterm-viewport')!).backgroundColor;
    expect(viewport()).to.equal('rgb(30, 30, 30)');
    await until(() => xtermForeground(vm!), '#d4d4d4', 'dark text');

    vm.theme = 'light';
    await vm.updateComplete;
    expect(viewport()).to.equal('rgb(255, 255, 255)');
    await until(() => xtermForeground(vm!), '#1f1f1f', 'light text');

    // A page setting the custom properties later, on the element or an ancestor: the terminal follows.
    vm.style.setProperty('--container-vm-background', 'rgb(0, 40, 80)');
    document.body.style.setProperty('--container-vm-foreground', 'rgb(250, 240, 10)');
    try {
      expect(viewport()).to.equal('rgb(0, 40, 80)');
      await until(() => xtermForeground(vm!), '#faf00a', 'a custom foreground');
    } finally {
      document.body.style.removeProperty('--container-vm-foreground');
    }
  });

  it('the terminal is a labelled region, and screen reader mode can be turned on and off', async () => {
    vm = makeElement({ autostart: 'false', 'opfs-root': '/element-look' });
    await vm.updateComplete;
    const region = part(vm, '[part="terminal"]')!;
    expect(region.getAttribute('role')).to.equal('region');
    expect(region.getAttribute('aria-label')).to.equal('Linux terminal');
    expect(part(vm, '.xterm-accessibility')).to.equal(null);
    vm.screenReader = true;
    await vm.updateComplete;
    expect(vm.hasAttribute('screen-reader')).to.equal(true);
    expect(part(vm, '.xterm-accessibility')).to.not.equal(null);
    vm.screenReader = false;
    await vm.updateComplete;
    expect(part(vm, '.xterm-accessibility')).to.equal(null);
  });

  it('with autostart="false", a Start button starts it; the status line says what it waits for', async () => {
    vm = makeElement({ autostart: 'false', src: '/no/such/manifest.json', 'opfs-root': '/element-look' });
    await vm.updateComplete;
    expect(part(vm, '[part="status"]')!.textContent).to.contain('Not started');
    const start = part(vm, 'button[part="start"]')!;
    expect(start.textContent).to.equal('Start');
    const errors: string[] = [];
    vm.addEventListener('error', (e) => errors.push((e as unknown as CustomEvent).detail.code));
    start.click();
    await nextEvent(vm, 'error');
    await sleep(300);
    expect(errors).to.deep.equal(['image-unreachable']);
    // After a failure it can be tried again.
    await vm.updateComplete;
    expect(part(vm, 'button[part="start"]')).to.not.equal(null);
  });

  it('error text is readable: 4.5:1 or more in both themes', async () => {
    for (const theme of ['dark', 'light']) {
      vm = makeElement({ src: '/no/such/manifest.json', theme, 'opfs-root': '/element-look' });
      await nextEvent(vm, 'error');
      await vm.updateComplete;
      const status = getComputedStyle(part(vm, '[part="status"]')!);
      expect(contrast(status.color, status.backgroundColor), `${theme} status line`).to.be.at.least(4.5);
      vm.remove();
      vm = null;
    }
  });

  for (const [attributes, code] of [
    [{ src: '/guest/out/manifest.json', backend: 'x9' }, 'backend-unavailable'],
    [{ src: '/guest/out/manifest.json', engine: 'qemu' }, 'bad-image'],
    [{ src: '/no/such/manifest.json' }, 'image-unreachable'],
    [{ src: '/guest/out/manifest.json', 'asset-base': '/no/such/folder/' }, 'assets-unreachable'],
  ] as [Record<string, string>, string][]) {
    it(`fires ${code} exactly once`, async () => {
      const errors: { code: string; message: string }[] = [];
      vm = document.createElement('container-vm');
      vm.addEventListener('error', (e) => errors.push((e as unknown as CustomEvent).detail));
      for (const [k, v] of Object.entries({ 'opfs-root': '/element-look', ...attributes })) vm.setAttribute(k, v);
      document.body.append(vm);
      await nextEvent(vm, 'error');
      await sleep(500);
      expect(errors.map((e) => e.code)).to.deep.equal([code]);
      expect(errors[0]!.message).to.not.match(/^\d+$/);
    });
  }
});
