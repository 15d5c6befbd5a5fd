// The start-up floor: the least a storage worker must do before it can answer anything, which is
// to exist and reach its OPFS directory. No imports, so it costs one request, like a bundled worker.

self.onmessage = async (e: MessageEvent<string>) => {
  let dir = await navigator.storage.getDirectory();
  for (const part of e.data.split('/').filter(Boolean)) dir = await dir.getDirectoryHandle(part);
  self.postMessage('up');
};

export {};
