// The element's side of the guest agent: a small program in the default guest
// (guest/rootfs/sbin/cvm-agent) that reads commands from the guest's second serial port (ttyS1)
// and answers there, so the page can tell the guest things without typing into the user's shell.
// The line protocol is in docs/guest-agent.md. The element learns that the agent is up from its
// `ready` line (cold boot) or its answer to `ping` (after a resume, when it is up already), and
// then gives it the terminal's size and the time. After the page changes the share, it has the
// agent drop the guest's 9p caches, so that the guest reads what the page wrote; before the page
// reads the share, the agent writes back what a cached mount holds, so that the page reads what
// the guest wrote.

/**
 * How long a request the agent confirms (drop, sync) is waited for: longer when the agent has
 * spoken since the VM started (a busy guest answers late), shorter when it has not (a guest
 * without an agent). An agent that does not answer in time is taken for absent: later requests
 * are sent without waiting, until it speaks again.
 */
const CONFIRM_WAIT_MS = { up: 10000, unknown: 2000 };

export class GuestAgent {
  private up = false;
  private partial = '';
  private size: { cols: number; rows: number } | null = null;
  /** A `drop` or `sync` went unanswered for CONFIRM_WAIT_MS: no agent may be running. */
  private silent = false;
  private pings = 0;
  private requests = 0;
  /** Pings sent and not answered yet, by id. */
  private readonly waiting = new Map<string, () => void>();
  /** Requests sent (drop, sync) and not confirmed yet, by the answer awaited ("dropped 3"). */
  private readonly confirming = new Map<string, () => void>();
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

  /**
   * The page changed the share: the agent drops the guest's 9p caches, if it mounted the share
   * with a cache (p9.cache=loose). Resolves once it confirms, so that the guest's next read sees
   * the change; or at once when `wait` is false (the VM is paused: the agent drops them as it runs again) or
   * the agent was silent before; or after CONFIRM_WAIT_MS. Dropping costs a guest without a cached
   * mount nothing (the agent checks /proc/mounts), and one with it the guest's cached 9p names.
   */
  dropCaches(wait: boolean): Promise<void> {
    return this.request('drop', 'dropped', wait);
  }

  /**
   * The page is about to read the share, or the VM to pause: the agent writes back what the guest
   * wrote to a share it mounted with a cache (p9.cache=loose), still in the guest's RAM. With the
   * default cache=none a guest's write() is on the share when it returns: the agent just answers.
   * Resolves as dropCaches does.
   */
  writeBack(wait: boolean): Promise<void> {
    return this.request('sync', 'synced', wait);
  }

  private request(command: string, answer: string, wait: boolean): Promise<void> {
    const id = String(++this.requests);
    this.send(`${command} ${id}`);
    if (!wait || this.silent) return Promise.resolve();
    const key = `${answer} ${id}`;
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.confirming.delete(key);
        this.silent = true;
        resolve();
      }, this.up ? CONFIRM_WAIT_MS.up : CONFIRM_WAIT_MS.unknown);
      this.confirming.set(key, () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** The VM stopped: no line is sent after this, and nothing waits for the agent. */
  dispose(): void {
    if (this.clockTimer !== null) clearTimeout(this.clockTimer);
    this.clockTimer = null;
    for (const confirmed of this.confirming.values()) confirmed();
    this.confirming.clear();
  }

  private handle([word, id]: string[]): void {
    if (word === 'ready' || word === 'pong' || word === 'dropped' || word === 'synced') this.silent = false;
    if (word === 'dropped' || word === 'synced') {
      const key = `${word} ${id}`;
      this.confirming.get(key)?.();
      this.confirming.delete(key);
      return;
    }
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
