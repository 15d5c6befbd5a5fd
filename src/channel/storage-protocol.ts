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
