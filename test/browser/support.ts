// Shared set-up for browser tests: fresh OPFS roots, a storage worker per test, and errno checks.

import { expect } from 'chai';
import { AsyncChannelClient } from '../../src/channel/async-client.js';
import { ChannelEndpoint } from '../../src/channel/layout.js';
import { StorageHost } from '../../src/channel/storage-host.js';
import { Backend } from '../../src/channel/storage-protocol.js';
import { P9Client } from '../../src/p9/client.js';
import { FsError, errnoName } from '../../src/p9/errno.js';

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

export interface Session {
  host: StorageHost;
  endpoint: ChannelEndpoint;
  client: P9Client;
  root: number;
}

export async function openSession(backend: Backend, root: string, host?: StorageHost): Promise<Session> {
  host ??= await StorageHost.start({ root, backend });
  const endpoint = await host.connect();
  const client = new P9Client(new AsyncChannelClient(endpoint));
  const rootFid = await client.connect();
  return { host, endpoint, client, root: rootFid };
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
