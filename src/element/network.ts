// The element's network and cors-proxy attributes, checked and turned into the v86 engine's
// network configuration.

import { NetworkConfig } from '../engines/v86-protocol.js';
import { VmError } from '../errors.js';

const RELAY_SCHEMES: Record<string, string> = { 'ws:': 'ws:', 'wss:': 'wss:', 'wisp:': 'ws:', 'wisps:': 'wss:' };

/**
 * The network the `network` attribute asks for: null for none (absent or empty), `fetch`, or a
 * Wisp relay's URL (wss://, ws://, or v86's spellings wisps:// and wisp://). Throws a
 * `bad-arguments` VmError for anything else.
 */
export function parseNetwork(network: string | null | undefined, corsProxy: string | null | undefined): NetworkConfig | null {
  const value = (network ?? '').trim();
  if (!value) return null;
  if (value === 'fetch') {
    const proxy = (corsProxy ?? '').trim();
    if (proxy && !/^https?:\/\/[^/]/i.test(proxy)) {
      throw new VmError('bad-arguments', `cors-proxy="${proxy}" is not an http:// or https:// URL: give the proxy's URL prefix, ` +
        'to which the encoded target URL is appended (e.g. https://proxy.example.org/?url=).');
    }
    return proxy ? { kind: 'fetch', corsProxy: proxy } : { kind: 'fetch' };
  }
  const scheme = /^[a-z]+:/i.exec(value)?.[0].toLowerCase() ?? '';
  const wsScheme = RELAY_SCHEMES[scheme];
  let url: URL | null = null;
  if (wsScheme) {
    try {
      url = new URL(wsScheme + value.slice(scheme.length));
    } catch {
      url = null;
    }
  }
  if (!url || !url.host) {
    throw new VmError('bad-arguments', `network="${value}" is not a network: leave the attribute out for none, write "fetch" ` +
      'for HTTP through the page\'s fetch(), or give a Wisp relay\'s URL (wss://relay.example.org/, or ws:// for one on this machine).');
  }
  return { kind: 'wisp', url: url.href };
}
