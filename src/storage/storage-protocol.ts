// Messages between a StorageHost and its storage worker (control only; 9P goes through the SAB channel).

import { ChannelEndpoint } from '../channel/layout.js';
import { SessionState } from './server-api.js';

export type Backend = 'm1' | 'l1';

export type HostRequest =
  | { id: number; type: 'open'; root: string; backend: Backend }
  | { id: number; type: 'connect'; endpoint: ChannelEndpoint; resume?: SessionState }
  | { id: number; type: 'export-session'; connectionId: number }
  | { id: number; type: 'disconnect'; connectionId: number }
  | { id: number; type: 'close' };

export type WorkerReply =
  | { id: number; ok: true; doorbell?: SharedArrayBuffer; session?: SessionState }
  | { id: number; ok: false; error: string; code: string };

/**
 * Sent by the worker on its own: a write failed because the origin's storage quota is full, or
 * the 9P server failed for good (L1 trapped; requests now get EIO).
 */
export type WorkerEvent = { event: 'no-space' } | { event: 'failed'; error: string; code: string };
