// Messages between the element and the wasi engine worker.

import { ChannelEndpoint } from '../channel/layout.js';

export interface WasiStart {
  type: 'start';
  /** The image's absolute URL. */
  src: string;
  /** argv after argv[0]: for a container2wasm image, its run-time flags and the container's command. */
  args: string[];
  /** NAME=value entries. */
  env: string[];
  /** Where the share is preopened (the container sees it at the same path). */
  mount: string;
  share: ChannelEndpoint;
  /** The ring the page writes keystrokes into (src/wasi/stdin.ts). */
  stdin: SharedArrayBuffer;
  cols: number;
  rows: number;
}

export type ToWasiEngine = WasiStart;

export type FromWasiEngine =
  | { type: 'output'; data: Uint8Array }
  | { type: 'progress'; what: string; loaded: number; total: number }
  /** The image is compiled and the program runs; `cached` says the image came from the OPFS cache. */
  | { type: 'started'; cached: boolean }
  | { type: 'exit'; code: number }
  | { type: 'error'; code: string; message: string };
