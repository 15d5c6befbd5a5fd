// The element's terminal: xterm.js fitted to its container, themed from CSS custom properties.

import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';

/**
 * The cursor stops blinking after this long without input or output: xterm animates the blink on
 * every frame, which kept Chromium's renderer and compositor at about 8% of a core at an idle
 * prompt here (BENCHMARKS.md), more than the emulator itself.
 */
const BLINK_IDLE_MS = 5000;

export class TerminalView {
  private readonly term: Terminal;
  private readonly fitAddon = new FitAddon();
  private readonly resizeObserver: ResizeObserver;
  private lastActivity = 0;
  private blinkTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(container: HTMLElement, host: HTMLElement, onInput: (data: string) => void) {
    const style = getComputedStyle(host);
    const prop = (name: string, fallback: string) => style.getPropertyValue(name).trim() || fallback;
    this.term = new Terminal({
      convertEol: false,
      cursorBlink: true,
      scrollback: 5000,
      // Lets the guest ask for the window size (CSI 18 t): a serial console has no other way.
      windowOptions: { getWinSizeChars: true },
      fontFamily: prop('--container-vm-font-family', 'ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace'),
      fontSize: Number.parseFloat(prop('--container-vm-font-size', '14')),
      theme: {
        background: prop('--container-vm-background', '#1e1e1e'),
        foreground: prop('--container-vm-foreground', '#d4d4d4'),
        cursor: prop('--container-vm-cursor', '#d4d4d4'),
        selectionBackground: prop('--container-vm-selection', '#264f78'),
      },
    });
    this.term.loadAddon(this.fitAddon);
    this.term.open(container);
    this.term.onData((data) => {
      this.active();
      onInput(data);
    });
    // Refit whenever the element changes size; fitting a hidden element would give 0 columns.
    this.resizeObserver = new ResizeObserver(() => {
      if (container.clientWidth > 0 && container.clientHeight > 0) this.fitAddon.fit();
    });
    this.resizeObserver.observe(container);
  }

  write(data: Uint8Array | string): void {
    this.active();
    this.term.write(data);
  }

  /** Blinks the cursor until BLINK_IDLE_MS pass without input or output. */
  private active(): void {
    this.lastActivity = performance.now();
    if (this.blinkTimer) return;
    this.term.options.cursorBlink = true;
    const check = () => {
      const idle = performance.now() - this.lastActivity;
      if (idle < BLINK_IDLE_MS) {
        this.blinkTimer = setTimeout(check, BLINK_IDLE_MS - idle);
        return;
      }
      this.blinkTimer = null;
      this.term.options.cursorBlink = false;
    };
    this.blinkTimer = setTimeout(check, BLINK_IDLE_MS);
  }

  focus(): void {
    this.term.focus();
  }

  get size(): { cols: number; rows: number } {
    return { cols: this.term.cols, rows: this.term.rows };
  }

  dispose(): void {
    if (this.blinkTimer) clearTimeout(this.blinkTimer);
    this.resizeObserver.disconnect();
    this.term.dispose();
  }
}
