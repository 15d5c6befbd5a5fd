// Messages between a StorageHost and its storage worker (control only; 9P goes through the SAB channel).

import { ChannelEndpoint } from './layout.js';

export type Backend = 'm1' | 'l1';

export type HostRequest =
  | { id: number; type: 'open'; root: string; backend: Backend }
  | { id: number; type: 'connect'; endpoint: ChannelEndpoint }
  | { id: number; type: 'disconnect'; connectionId: number }
  | { id: number; type: 'close' };

export type WorkerReply =
  | { id: number; ok: true; doorbell?: SharedArrayBuffer }
  | { id: number; ok: false; error: string; code: string };

/** Sent by the worker on its own: the 9P server failed for good (L1 trapped); requests now get EIO. */
export type WorkerEvent = { type: 'failed'; error: string; code: string };
