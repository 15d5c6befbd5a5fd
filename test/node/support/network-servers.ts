// Real network parts for the guest's network tests and benchmark, each on 127.0.0.1 and a free
// port: an HTTP file server, a TCP echo server, a CORS proxy, and a Wisp relay (the server of
// @mercuryworkshop/wisp-js, as a site would run it) that resolves the tests' host names to
// 127.0.0.1 and, for these tests only, may connect to loopback addresses.

import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { server as wisp, logging } from '@mercuryworkshop/wisp-js/server';

export interface Running {
  port: number;
  stop(): Promise<void>;
}

export interface FileServer extends Running {
  /** Resolves once a GET /endless (answered after this call) has sent its first bytes. */
  endlessStarted(): Promise<void>;
}

/** The body of GET /endless: 64 KiB every 50 ms, for as long as the client reads. */
const ENDLESS_CHUNK = new Uint8Array(64 * 1024);

async function listen(server: net.Server, port = 0): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => { server.off('error', reject); resolve(); });
  });
  return (server.address() as net.AddressInfo).port;
}

/** Closes `server` and every connection it still has. */
function closer(server: net.Server, sockets: Set<Duplex>): () => Promise<void> {
  return () => new Promise<void>((resolve) => {
    for (const socket of sockets) socket.destroy();
    server.close(() => resolve());
  });
}

function tracked(server: net.Server): Set<Duplex> {
  const sockets = new Set<Duplex>();
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  return sockets;
}

/** Serves `files` (path -> bytes) to GET, and GET /endless: a body that never ends. */
export async function startFileServer(files: Map<string, Uint8Array>): Promise<FileServer> {
  const waiting: (() => void)[] = [];
  const server = http.createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://x').pathname;
    const body = files.get(path);
    if (body) {
      response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
      response.end(body);
    } else if (path === '/endless') {
      response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': 1 << 30 });
      const timer = setInterval(() => {
        response.write(ENDLESS_CHUNK);
        for (const resolve of waiting.splice(0)) resolve();
      }, 50);
      response.on('close', () => clearInterval(timer));
    } else {
      response.writeHead(404).end();
    }
  });
  const sockets = tracked(server);
  const port = await listen(server);
  return {
    port,
    endlessStarted: () => new Promise<void>((resolve) => waiting.push(resolve)),
    stop: closer(server, sockets),
  };
}

/** A TCP server that sends back what it gets, and closes when the client does. */
export async function startEchoServer(): Promise<Running> {
  const server = net.createServer((socket) => socket.pipe(socket));
  const sockets = tracked(server);
  return { port: await listen(server), stop: closer(server, sockets) };
}

/**
 * A CORS proxy as v86's fetch backend uses one: GET /?url=<encoded URL> fetches that URL, its
 * host looked up in `names` (name -> host:port), and answers with Access-Control-Allow-Origin: *.
 */
export async function startCorsProxy(names: Record<string, string>): Promise<Running> {
  const server = http.createServer((request, response) => {
    // The preflight for the headers the guest's request carries (User-Agent, say).
    if (request.method === 'OPTIONS') {
      response.writeHead(204, { 'access-control-allow-origin': '*', 'access-control-allow-headers': '*', 'access-control-allow-methods': '*' }).end();
      return;
    }
    void (async () => {
      const target = new URL(new URL(request.url ?? '/', 'http://x').searchParams.get('url') ?? '');
      target.host = names[target.hostname] ?? target.host;
      const upstream = await fetch(target);
      response.writeHead(upstream.status, { 'access-control-allow-origin': '*', 'content-type': upstream.headers.get('content-type') ?? 'application/octet-stream' });
      response.end(Buffer.from(await upstream.arrayBuffer()));
    })().catch((e) => response.writeHead(502).end(String(e)));
  });
  const sockets = tracked(server);
  return { port: await listen(server), stop: closer(server, sockets) };
}

export interface Relay extends Running {
  /** ws://127.0.0.1:<port>/ */
  url: string;
  /** Cuts every connection at once, as a crashed relay or a lost network would (the server keeps listening). */
  drop(): void;
}

/**
 * The wisp-js relay, resolving the names in `names` (name -> address) and no others, allowed to
 * connect to loopback addresses (which a relay for a site must not be). `port`: 0 for any free
 * one; `hosts`: the only host names it connects to (wisp-js's hostname_whitelist), or all.
 */
export async function startRelay(names: Record<string, string>, { port = 0, hosts }: { port?: number; hosts?: string[] } = {}): Promise<Relay> {
  logging.set_level(logging.NONE);
  // wisp-js's options are global to the process: every relay started here sets all it relies on.
  wisp.options.allow_loopback_ips = true;
  wisp.options.hostname_whitelist = hosts ? hosts.map((host) => new RegExp(`^${host.replace(/\./g, '\\.')}$`)) : null;
  wisp.options.dns_method = async (hostname) => {
    const address = names[hostname];
    if (!address) throw new Error(`no such test host: ${hostname}`);
    return address;
  };
  const server = http.createServer((_, response) => response.writeHead(426).end());
  const sockets = tracked(server);
  server.on('upgrade', (request, socket, head) => wisp.routeRequest(request, socket, head));
  const bound = await listen(server, port);
  return {
    port: bound,
    url: `ws://127.0.0.1:${bound}/`,
    drop: () => { for (const socket of sockets) socket.destroy(); },
    stop: closer(server, sockets),
  };
}

/** A port nothing listens on (taken, then given back). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  const port = await listen(server);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
