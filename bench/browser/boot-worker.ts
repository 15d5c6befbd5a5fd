// The start-up floor: the least a storage worker must do before it can answer anything, which is
// to exist and reach its OPFS directory.

import { opfsDir } from './protocol.js';

self.onmessage = async (e: MessageEvent<string>) => {
  await opfsDir(e.data, false);
  self.postMessage('up');
};
