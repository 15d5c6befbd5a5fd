// The part of @mercuryworkshop/wisp-js's server (plain JavaScript, no types) the tests and the
// network benchmark use.
declare module '@mercuryworkshop/wisp-js/server' {
  import type { IncomingMessage } from 'node:http';
  import type { Duplex } from 'node:stream';

  export const server: {
    routeRequest(request: IncomingMessage, socket: Duplex, head: Buffer): void;
    options: {
      hostname_whitelist: RegExp[] | null;
      port_whitelist: (number | [number, number])[] | null;
      allow_private_ips: boolean;
      allow_loopback_ips: boolean;
      dns_method: 'lookup' | 'resolve' | ((hostname: string) => Promise<string>);
    };
  };
  export const logging: { set_level(level: number): void; ERROR: number; NONE: number };
}
