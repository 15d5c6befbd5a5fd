// What the guest benchmark's page (bench/guest/index.html) and its node runner (bench/node/guest.ts)
// exchange. Kept free of imports so the node side can use the types without the browser code.

/**
 * The two VMs the benchmark compares, booting the same guest image:
 * - element: <container-vm>, its share served by M1 in the storage worker over OPFS (handle9p);
 * - memory: v86 booted directly in a worker with its built-in in-memory 9p filesystem (`filesystem: {}`).
 */
export type VmKind = 'element' | 'memory';

export interface BootResult {
  /** performance.now() at the ready marker: ms since the page's navigation started. */
  readyAt: number;
  /** ms from the boot call (or page load, for ?boot=) to the ready marker. */
  bootMs: number;
}

export interface CommandResult {
  /** What the command printed between the start and end markers (no \r). */
  out: string;
  status: number;
  /** ms from sending the command line to seeing its end marker, measured on the page. */
  hostMs: number;
}

export interface GuestBenchApi {
  /** Set once a VM started by `?boot=<kind>` (at page load) is ready, else null. */
  autoboot(): { kind: VmKind; result: BootResult | null; error: string | null } | null;
  /** Starts booting; poll bootState() (a boot takes longer than a CDP call may wait). */
  startBoot(kind: VmKind): void;
  bootState(kind: VmKind): { result: BootResult | null; error: string | null; tail: string };
  /** Sends a shell command line; poll() its id for the result (CDP calls time out on long waits). */
  send(kind: VmKind, command: string): number;
  poll(id: number): CommandResult | { error: string } | null;
  stop(kind: VmKind): Promise<void>;
  userAgent(): string;
}
