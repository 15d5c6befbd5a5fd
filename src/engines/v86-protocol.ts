// Messages between the element and the v86 engine worker.

import { ChannelEndpoint } from '../channel/layout.js';

/** A v86 guest image, as described by a manifest (URLs already resolved against it). */
export interface V86Image {
  kernel: string;
  initrd?: string;
  bios: string;
  vgaBios?: string;
  cmdline: string;
  /** Guest memory in MiB. */
  memory: number;
}

/** The guest's network card and what is behind it: v86's fetch backend, or a Wisp relay (ws: or wss: URL). */
export type NetworkConfig =
  | { kind: 'fetch'; corsProxy?: string }
  | { kind: 'wisp'; url: string };

/** An OCI image's root file system, served beside the share through one 9P device (root-mux.ts). */
export interface OciRoot {
  endpoint: ChannelEndpoint;
  /** The launch file: what the guest's init runs (src/oci/launch.ts). */
  launch: string;
}

export type ToV86Engine =
  | { type: 'start'; image: V86Image; wasmUrl: string; share: ChannelEndpoint; initialState?: ArrayBuffer; network?: NetworkConfig; root?: OciRoot }
  | { type: 'input'; data: string }
  /** One line for the guest agent, on the guest's second serial port (src/element/guest-agent.ts). */
  | { type: 'agent'; line: string }
  /**
   * Stop the machine while the page is hidden, its clock standing still, until `resume` (then the
   * guest agent sets the clock).
   */
  | { type: 'pause' }
  | { type: 'resume' }
  /** Pause with no 9P request in flight and answer `paused` with the machine state; `continue` runs on. */
  | { type: 'pause-and-save' }
  | { type: 'continue' }
  | { type: 'stop' };

export type FromV86Engine =
  | { type: 'output'; data: Uint8Array }
  /** What the guest agent wrote to the second serial port. */
  | { type: 'agent'; data: Uint8Array }
  | { type: 'progress'; what: string; loaded: number; total: number }
  | { type: 'started' }
  | { type: 'paused'; state: ArrayBuffer }
  | { type: 'stopped' }
  | { type: 'error'; code: string; message: string };
