// The element's side of the guest agent: a small program in the default guest
// (guest/rootfs/sbin/cvm-agent) that reads commands from the guest's second serial port (ttyS1)
// and answers there, so the page can tell the guest things without typing into the user's shell.
// The line protocol is in docs/guest-agent.md. The element learns that the agent is up from its
// `ready` line (cold boot) or its answer to `ping` (after a snapshot resume, when it is up already).

export class GuestAgent {
  private up = false;
  private partial = '';
  private size: { cols: number; rows: number } | null = null;
  private pings = 0;
  private readonly decoder = new TextDecoder();

  /** `send` writes one line (without its newline) to the agent's port. */
  constructor(private readonly send: (line: string) => void) {}

  /** Whether the agent has answered since the VM started. */
  get ready(): boolean {
    return this.up;
  }

  /** Bytes the agent wrote to its port. */
  receive(data: Uint8Array): void {
    this.partial += this.decoder.decode(data, { stream: true });
    let newline: number;
    while ((newline = this.partial.indexOf('\n')) >= 0) {
      const line = this.partial.slice(0, newline).replace(/\r$/, '');
      this.partial = this.partial.slice(newline + 1);
      this.handle(line.trim().split(/\s+/));
    }
  }

  /** The terminal's size changed: the agent sets the console's size, and the guest's programs get SIGWINCH. */
  resized(cols: number, rows: number): void {
    this.size = { cols, rows };
    if (this.up) this.sendSize();
  }

  /** The VM resumed from a snapshot, with the agent running already: ask it to answer. */
  resumed(): void {
    this.send(`ping ${++this.pings}`);
  }

  private handle([word]: string[]): void {
    if (word !== 'ready' && word !== 'pong') return;
    // Either way the agent reads commands now; it may have missed sizes before it started.
    this.up = true;
    if (this.size) this.sendSize();
  }

  private sendSize(): void {
    this.send(`size ${this.size!.cols} ${this.size!.rows}`);
  }
}
