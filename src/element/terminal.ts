// The element's terminal: xterm.js fitted to its container and themed from the element's computed
// style (styles.ts), live: a change of theme, of a --container-vm-* property or of the page's
// colour scheme reaches the terminal through the theme probe's transitions.

import { ITheme, Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';

export interface TerminalOptions {
  onInput(data: string): void;
  /** The terminal's size in characters changed (after a refit). */
  onResize(cols: number, rows: number): void;
  screenReader: boolean;
}

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
  private readonly onThemeChange = () => this.applyTheme();
  private lastActivity = 0;
  private blinkTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(container: HTMLElement, private readonly probe: HTMLElement, options: TerminalOptions) {
    this.term = new Terminal({
      convertEol: false,
      cursorBlink: true,
      scrollback: 5000,
      screenReaderMode: options.screenReader,
      // Whatever colours a theme or the guest picks, text stays readable (WCAG AA).
      minimumContrastRatio: 4.5,
      // Lets a program ask for the window size (CSI 18 t).
      windowOptions: { getWinSizeChars: true },
      ...this.readTheme(),
    });
    this.term.loadAddon(this.fitAddon);
    this.term.open(container);
    this.term.onData((data) => {
      this.active();
      options.onInput(data);
    });
    this.term.onResize(({ cols, rows }) => options.onResize(cols, rows));
    // Refit whenever the element changes size; fitting a hidden element would give 0 columns.
    // Shown again after being hidden, the theme may have changed meanwhile without transitions.
    this.resizeObserver = new ResizeObserver(() => {
      if (container.clientWidth === 0 || container.clientHeight === 0) return;
      this.applyTheme();
      this.fitAddon.fit();
    });
    this.resizeObserver.observe(container);
    probe.addEventListener('transitionend', this.onThemeChange);
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

  set screenReader(on: boolean) {
    this.term.options.screenReaderMode = on;
  }

  get size(): { cols: number; rows: number } {
    return { cols: this.term.cols, rows: this.term.rows };
  }

  dispose(): void {
    if (this.blinkTimer) clearTimeout(this.blinkTimer);
    this.probe.removeEventListener('transitionend', this.onThemeChange);
    this.resizeObserver.disconnect();
    this.term.dispose();
  }

  private applyTheme(): void {
    const { theme, fontFamily, fontSize } = this.readTheme();
    const o = this.term.options;
    if (JSON.stringify(o.theme) !== JSON.stringify(theme)) o.theme = theme;
    if (o.fontFamily !== fontFamily) o.fontFamily = fontFamily;
    if (o.fontSize !== fontSize) {
      o.fontSize = fontSize;
      this.fitAddon.fit();
    }
  }

  private readTheme(): { theme: ITheme; fontFamily: string; fontSize: number } {
    const s = getComputedStyle(this.probe);
    return {
      theme: {
        background: s.backgroundColor,
        foreground: s.color,
        cursor: s.borderTopColor,
        cursorAccent: s.backgroundColor,
        selectionBackground: s.borderBottomColor,
      },
      fontFamily: s.fontFamily,
      fontSize: Number.parseFloat(s.fontSize) || 14,
    };
  }
}
