// A freshly started worker with no imports. It is the start-up floor (the least a storage worker
// must do before it can answer: exist and reach its OPFS directory), and it lists a directory
// the way a freshly started storage worker would, with cold JavaScript, for the cold readdir floor.

interface BootRequest {
  /** OPFS directory to reach. */
  path: string;
  /** Also list it with `for await entries()` and answer the listing's time in ms. */
  list?: boolean;
}

self.onmessage = async (e: MessageEvent<BootRequest>) => {
  let dir = await navigator.storage.getDirectory();
  for (const part of e.data.path.split('/').filter(Boolean)) dir = await dir.getDirectoryHandle(part);
  if (!e.data.list) {
    self.postMessage('up');
    return;
  }
  let n = 0;
  const t0 = performance.now();
  for await (const _ of dir.entries()) n++;
  self.postMessage({ ms: performance.now() - t0, entries: n });
};

export {};
