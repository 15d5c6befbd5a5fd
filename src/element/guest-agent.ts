// The element's side of the guest agent: a small program in the default guest
// (guest/rootfs/sbin/cvm-agent) that reads commands from the guest's second serial port (ttyS1)
// and answers there, so the page can tell the guest things without typing into the user's shell.
// The line protocol is in docs/guest-agent.md. The element learns that the agent is up from its
// `ready` line (cold boot) or its answer to `ping` (after a resume, when it is up already), and
// then gives it the terminal's size and the time.

export class GuestAgent {
  private up = false;
  private partial = '';
  private size: { cols: number; rows: number } | null = null;
  private pings = 0;
  /** Pings sent and not answered yet, by id. */
  private readonly waiting = new Map<string, () => void>();
  private clockTimer: ReturnType<typeof setTimeout> | null = null;
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

  /**
   * The VM runs again after a pause (a snapshot resume, or the page shown again), with the agent
   * running already but the guest's clock behind: ask the agent to answer, which sets the clock.
   */
  resumed(): void {
    void this.ping();
  }

  /**
   * Resolves once the agent answers, or says `ready` (a ping sent before it started reading is
   * lost); it may never, in a guest without an agent.
   */
  ping(): Promise<void> {
    const id = String(++this.pings);
    const answered = new Promise<void>((resolve) => this.waiting.set(id, resolve));
    this.send(`ping ${id}`);
    return answered;
  }

  /** The VM stopped: no line is sent after this. */
  dispose(): void {
    if (this.clockTimer !== null) clearTimeout(this.clockTimer);
    this.clockTimer = null;
  }

  private handle([word, id]: string[]): void {
    if (word !== 'ready' && word !== 'pong') return;
    for (const [waiting, resolve] of this.waiting) {
      if (word === 'ready' || waiting === id) {
        resolve();
        this.waiting.delete(waiting);
      }
    }
    // Either way the agent reads commands now; it may have missed sizes before it started, and
    // the guest's clock is behind after a pause (or set from the emulated RTC at boot, to the second).
    this.up = true;
    if (this.size) this.sendSize();
    this.setClock();
  }

  private sendSize(): void {
    this.send(`size ${this.size!.cols} ${this.size!.rows}`);
  }

  /**
   * The guest sets its clock in whole seconds (busybox date -s @SECONDS), so the line goes at the
   * start of the page's next second: the guest's clock is then as close to the page's as the line
   * is quick, rather than up to a second behind.
   */
  private setClock(): void {
    if (this.clockTimer !== null) return;
    this.clockTimer = setTimeout(() => {
      this.clockTimer = null;
      this.send(`clock ${Math.round(Date.now() / 1000)}`);
    }, 1000 - (Date.now() % 1000));
  }
}
