// The element's terminal: xterm.js fitted to its container, themed from CSS custom properties.

import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';

export class TerminalView {
  private readonly term: Terminal;
  private readonly fitAddon = new FitAddon();
  private readonly resizeObserver: ResizeObserver;

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
    this.term.onData(onInput);
    // Refit whenever the element changes size; fitting a hidden element would give 0 columns.
    this.resizeObserver = new ResizeObserver(() => {
      if (container.clientWidth > 0 && container.clientHeight > 0) this.fitAddon.fit();
    });
    this.resizeObserver.observe(container);
  }

  write(data: Uint8Array | string): void {
    this.term.write(data);
  }

  focus(): void {
    this.term.focus();
  }

  get size(): { cols: number; rows: number } {
    return { cols: this.term.cols, rows: this.term.rows };
  }

  dispose(): void {
    this.resizeObserver.disconnect();
    this.term.dispose();
  }
}
