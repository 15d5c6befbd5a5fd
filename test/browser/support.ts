// Shared set-up for browser tests: fresh OPFS roots, a storage worker per test, and errno checks.

import { expect } from 'chai';
import { AsyncChannelClient } from '../../src/channel/async-client.js';
import { ChannelEndpoint } from '../../src/channel/layout.js';
import { StorageHost } from '../../src/storage/storage-host.js';
import { Backend } from '../../src/storage/storage-protocol.js';
import { P9Client } from '../../src/client/client.js';
import { P9File } from '../../src/client/file.js';
import { FsError, errnoName } from '../../src/wire/errno.js';

/** Removes an OPFS directory (the share root) so a test starts from nothing. */
export async function wipe(root: string): Promise<void> {
  const parts = root.split('/').filter(Boolean);
  let dir = await navigator.storage.getDirectory();
  for (const p of parts.slice(0, -1)) dir = await dir.getDirectoryHandle(p, { create: true });
  await dir.removeEntry(parts[parts.length - 1]!, { recursive: true }).catch(() => undefined);
}

/** The OPFS directory handle at a path, created when missing. */
export async function opfsDir(path: string): Promise<FileSystemDirectoryHandle> {
  let dir = await navigator.storage.getDirectory();
  for (const p of path.split('/').filter(Boolean)) dir = await dir.getDirectoryHandle(p, { create: true });
  return dir;
}

/** A fid of the page's client. */
export type File = P9File<'async'>;

export interface Session {
  host: StorageHost;
  endpoint: ChannelEndpoint;
  client: P9Client;
  root: File;
}

export async function openSession(backend: Backend, root: string, host?: StorageHost): Promise<Session> {
  host ??= await StorageHost.start({ root, backend });
  const endpoint = await host.connect();
  const client = new P9Client(new AsyncChannelClient(endpoint));
  return { host, endpoint, client, root: await client.connect() };
}

/** Expects the promise to fail with the given errno name (ENOENT, EINVAL, ...). */
export async function expectErrno(p: Promise<unknown>, name: string): Promise<void> {
  try {
    await p;
  } catch (e) {
    if (!(e instanceof FsError)) throw e;
    expect(errnoName(e.errno), e.message).to.equal(name);
    return;
  }
  expect.fail(`expected ${name}, but the call succeeded`);
}

export const text = (s: string) => new TextEncoder().encode(s);
export const untext = (b: Uint8Array) => new TextDecoder().decode(b);

/** A <container-vm> with these attributes, added to the page (the test removes it). */
export function makeElement(attributes: Record<string, string>): HTMLElementTagNameMap['container-vm'] {
  const vm = document.createElement('container-vm');
  for (const [k, v] of Object.entries(attributes)) vm.setAttribute(k, v);
  document.body.append(vm);
  return vm;
}

/** The next event of this type on the element. */
export function nextEvent(target: EventTarget, type: string): Promise<CustomEvent> {
  return new Promise((resolve) => target.addEventListener(type, (e) => resolve(e as CustomEvent), { once: true }));
}

/** Whether this browser has JSPI, which the L1 backend needs (Chromium; not Firefox ESR 140). */
export const hasJspi = typeof (WebAssembly as { Suspending?: unknown }).Suspending === 'function' &&
  typeof (WebAssembly as { promising?: unknown }).promising === 'function';

/**
 * Where JSPI is missing, the L1 tests are replaced by this one: L1 refuses to open with
 * backend-unavailable and a message naming JSPI and the way out.
 */
export function itRefusesL1WithoutJspi(): void {
  it('refuses backend="l1" with a message naming JSPI (this browser has none)', async () => {
    const failure = await StorageHost.start({ root: '/no-jspi', backend: 'l1' }).then(
      async (host) => { await host.close(); return null; },
      (e: { code?: string; message: string }) => e,
    );
    expect(failure, 'L1 opened without JSPI').to.not.equal(null);
    expect(failure!.code).to.equal('backend-unavailable');
    expect(failure!.message).to.match(/JSPI.*backend="m1"/);
  });
}
