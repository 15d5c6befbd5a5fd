// The guest's network card in the v86 engine: a virtio-net card behind v86's fetch backend (the
// guest's HTTP requests made with the page's fetch()) or its Wisp backend, whose transport
// WispLink replaces (wisp-link.ts). Both get GuestTcpResender's fix for v86's TCP (guest-tcp.ts).

import type { V86 } from 'v86';
import { NetworkConfig } from './v86-protocol.js';
import { GuestTcpResender } from './guest-tcp.js';
import { V86NetworkAdapter, WispLink } from './wisp-link.js';

/**
 * The largest Ethernet payload on the guest's network. v86 sends one TCP segment at a time, so
 * larger segments carry more per round trip: 16 MiB through the relay / fetch at 3.1 / 3.5 MiB/s
 * with 1500, 9.1 / 13.9 with 16384, 4.6 / 6.0 with 32768 (whose segments most likely find too
 * little room in the guest's receive window, at most 64 KiB as v86 does not scale windows).
 */
const MTU = 16384;

/** v86's options for a network card behind `network`. */
export function networkOptions(network: NetworkConfig): Record<string, unknown> {
  const card = { type: 'virtio', mtu: MTU };
  return {
    net_device: network.kind === 'fetch'
      ? { ...card, relay_url: 'fetch', ...(network.corsProxy ? { cors_proxy: network.corsProxy } : {}) }
      // A wisp:// URL makes v86 build its Wisp adapter. WispLink answers DNS itself; "static"
      // keeps v86 from asking a DNS-over-HTTPS server on the internet if a query gets past it.
      : { ...card, relay_url: network.url.replace(/^ws/, 'wisp'), dns_method: 'static' },
    // v86 gives a restored machine's card a new MAC address, which its guest would not know.
    preserve_mac_from_state_image: true,
  };
}

/**
 * Wires container-vm's network code into the adapter `emulator` builds for `network` once its
 * wasm has loaded. `unavailable` gets the message for an `error` event when a relay cannot be
 * reached or goes away.
 */
export function attachNetwork(emulator: V86, network: NetworkConfig, unavailable: (message: string) => void): void {
  const resender = new GuestTcpResender();
  onAdapter(emulator, (adapter) => {
    if (network.kind === 'fetch') {
      // v86's fetch backend has taken the connection (port 80: "established") or refused it by now.
      adapter.on_tcp_connection = (tcp) => {
        if (tcp.state === 'established') resender.watch(tcp);
        return true;
      };
      return;
    }
    new WispLink(network.url, adapter, (tcp) => resender.watch(tcp), (why) => unavailable(
      `the network relay ${network.url} ${why}. The guest runs on without a network: its connections were reset, ` +
      'and each new one tries the relay again. Check that the relay is running and that the network attribute names it.'));
  });
}

/**
 * Calls `attach` with the network adapter v86 builds once its wasm has loaded (in
 * V86.continue_init in v86 0.5, before its first await), built with a WebSocket that never
 * connects: v86's Wisp adapter opens one to the relay, and WispLink makes its own instead.
 */
function onAdapter(emulator: V86, attach: (adapter: V86NetworkAdapter) => void): void {
  const v86 = emulator as unknown as { continue_init(...args: unknown[]): Promise<void>; network_adapter?: V86NetworkAdapter };
  const continueInit = v86.continue_init;
  v86.continue_init = function (this: unknown, ...args: unknown[]) {
    const real = globalThis.WebSocket;
    globalThis.WebSocket = InertWebSocket as unknown as typeof WebSocket;
    let initialized: Promise<void>;
    try {
      initialized = continueInit.apply(this, args);
    } finally {
      globalThis.WebSocket = real;
    }
    if (!v86.network_adapter) throw new Error('v86 built no network adapter: this v86 is not the 0.5 release container-vm was written for');
    attach(v86.network_adapter);
    return initialized;
  };
}

class InertWebSocket {
  binaryType = 'arraybuffer';
  send(): void { /* never connected */ }
  close(): void { /* never connected */ }
}
