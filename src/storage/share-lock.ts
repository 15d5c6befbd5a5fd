// One storage worker per share: a second tab (or element) opening the same opfs-root would run a
// second store over the same OPFS files, each with its own index and journal, and corrupt the
// share. The storage worker takes a Web Lock named after the share's root before opening it and
// holds it until it closes; the browser drops the lock when the worker or its tab goes away, so a
// crashed tab never leaves the share locked.

/** The lock's name: the root's path parts, so "/shared", "shared/" and "//shared" are one share. */
export function shareLockName(root: string): string {
  return `container-vm share:/${root.split('/').filter(Boolean).join('/')}`;
}

export class ShareBusyError extends Error {
  readonly code = 'share-busy';
  constructor(root: string) {
    super(`The share "${root}" is open in another tab or element of this site. Close that tab (or stop that element), ` +
      'or give this element another opfs-root.');
  }
}

/** Takes the share's lock without waiting; resolves with its release function, or throws ShareBusyError. */
export function acquireShareLock(root: string): Promise<() => void> {
  if (!navigator.locks) return Promise.resolve(() => undefined); // no Web Locks (old browsers): nothing to guard with
  return new Promise((resolve, reject) => {
    navigator.locks.request(shareLockName(root), { ifAvailable: true }, (lock) => {
      if (!lock) {
        reject(new ShareBusyError(root));
        return undefined;
      }
      // Held until the returned function is called.
      return new Promise<void>((release) => resolve(() => release()));
    }).catch(reject);
  });
}
