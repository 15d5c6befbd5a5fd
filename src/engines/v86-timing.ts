// How the v86 engine lets the emulated CPU sleep, and how it holds the guest's clock while the
// machine is paused. Both reach into v86's internals (named below; their names survive v86's
// minified build): v86 has no option for either.
//
// v86 runs the guest in slices (its main loop). When the guest halts (HLT: nothing to do until an
// interrupt), the slice returns how long until the next timer interrupt is due, and v86 sleeps
// that long through a helper worker: a postMessage there, setTimeout there, a postMessage back.
// setTimeout takes whole milliseconds and drops the fraction, so v86 woke before the interrupt was
// due, found it not due, and asked again with no delay at all: it spun through the helper worker
// until the deadline, ~1,000 wake-ups a second at an idle prompt for the guest's 250 timer ticks,
// a third of a core (BENCHMARKS.md, "Idle"). Here the engine's own worker sleeps, with
// scheduler.postTask (no helper worker, and no 4 ms clamp on nested timeouts), until the deadline
// rounded up to the millisecond.
//
// The default guest's kernel (Debian's 686 build) ticks at 250 Hz whether it has work or not
// (CONFIG_HZ_PERIODIC: no tickless idle), and each tick costs v86 a few thousand emulated
// instructions. Once the guest has had nothing but timer ticks to do for QUIET_MS, it is woken at
// most every IDLE_TICK_MS: its high-resolution tick (an hrtimer) catches up on the ticks it missed
// (jiffies follow the clock, which follows the TSC), so timers fire up to IDLE_TICK_MS late while
// the guest idles, and on time again as soon as it does anything: an interrupt from a device
// (input, the share, the network), console output or a slice that runs without halting.

import type { V86 } from 'v86';

/** v86's scheduler (`emulator.v86`, src/main.js) and the CPU's TSC (src/cpu.js), as v86 0.5 has them. */
interface V86Internals {
  /** Schedules `yield_callback(tick)` after `t` ms; `t` is what the last slice returned (0: run on at once). */
  yield(t: number, tick: number): void;
  yield_callback(tick: number): void;
  /** Ends v86's helper worker for sleeping (made with the emulator; destroy() ends it again, harmlessly). */
  unregister_yield(): void;
  cpu: {
    set_tsc(low: number, high: number): void;
    store_current_tsc(): void;
    /** The TSC as store_current_tsc() left it: low and high 32 bits (a view of the wasm memory). */
    current_tsc: ArrayLike<number>;
  };
}

interface Scheduler {
  postTask(callback: () => void, options?: { delay?: number }): Promise<void>;
}

/** Only timer ticks for this long, and the guest counts as idle. */
const QUIET_MS = 1000;
/**
 * While the guest idles, it is woken at most this often (its kernel asks every 4 ms). Each wake-up
 * costs v86 a few hundred microseconds: at 20 a second an idle prompt cost 4.0-4.6% of a core (all
 * of Chromium's processes), at 50 a second 4.8-5.5%, on a busy 2-core machine (BENCHMARKS.md, "Idle").
 */
const IDLE_TICK_MS = 50;

export class V86Timing {
  private lastActive = performance.now();
  /** The guest's TSC while it is held (the machine paused), else null. */
  private held: [low: number, high: number] | null = null;

  private constructor(private readonly v86: V86Internals) {}

  /**
   * Takes over v86's sleeping, once the emulator is loaded (`emulator-loaded`) and before it runs.
   * `fail` gets what a slice of the emulator threw. Null when this v86 is not the one this module
   * knows: it then runs as v86 has it.
   */
  static install(emulator: V86, fail: (e: unknown) => void): V86Timing | null {
    const v86 = (emulator as unknown as { v86?: Partial<V86Internals> }).v86;
    const scheduler = (globalThis as { scheduler?: Scheduler }).scheduler;
    if (!v86 || !isInternals(v86) || typeof scheduler?.postTask !== 'function') return null;
    const timing = new V86Timing(v86);
    v86.unregister_yield();
    v86.yield = (t, tick) => {
      const run = () => {
        try {
          v86.yield_callback(tick);
        } catch (e) {
          fail(e);
        }
      };
      if (t <= 0) {
        // A slice that ran to its end, or an interrupt that woke the guest.
        timing.active();
        void scheduler.postTask(run);
      } else {
        const idle = performance.now() - timing.lastActive > QUIET_MS;
        void scheduler.postTask(run, { delay: Math.max(Math.ceil(t), idle ? IDLE_TICK_MS : 0) });
      }
    };
    return timing;
  }

  /** Something happened that the user may be watching (console output): timers are precise again. */
  active(): void {
    this.lastActive = performance.now();
  }

  /**
   * Holds the guest's clock where it is: call with the machine stopped. The TSC (v86 derives it
   * from the page's clock) then stands still until releaseClock(), so the guest sees no time pass
   * while paused; a long jump would overflow the kernel's clock arithmetic (beyond ~10 minutes)
   * and report a soft lockup. Called again while held (before saving the machine's state), it
   * sets the TSC back to the held value.
   */
  holdClock(): void {
    const cpu = this.v86.cpu;
    if (this.held) {
      cpu.set_tsc(...this.held);
      return;
    }
    cpu.store_current_tsc();
    this.held = [cpu.current_tsc[0]!, cpu.current_tsc[1]!];
  }

  /** Lets the guest's clock run on from where it was held: call right before the machine runs. */
  releaseClock(): void {
    if (!this.held) return;
    this.v86.cpu.set_tsc(...this.held);
    this.held = null;
  }
}

function isInternals(v86: Partial<V86Internals>): v86 is V86Internals {
  const cpu = v86.cpu;
  return typeof v86.yield === 'function' && typeof v86.yield_callback === 'function' &&
    typeof v86.unregister_yield === 'function' && typeof cpu?.set_tsc === 'function' &&
    typeof cpu.store_current_tsc === 'function' && typeof cpu.current_tsc?.[0] === 'number';
}
