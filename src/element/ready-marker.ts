// The default guest prints an OSC escape sequence when its shell is ready (guest/init). The
// terminal ignores unknown OSC sequences, so the marker is invisible; the element watches the
// console output for it, across chunk boundaries, to fire `vm-ready`.

export const READY_MARKER = '\x1b]697;container-vm-ready\x07';
const marker = Array.from(READY_MARKER, (c) => c.charCodeAt(0));

export class ReadyMarkerScanner {
  private matched = 0;
  private seen = false;

  reset(): void {
    this.matched = 0;
    this.seen = false;
  }

  /** True the first time the marker has been completed by `data`. */
  scan(data: Uint8Array): boolean {
    if (this.seen) return false;
    for (const b of data) {
      if (b === marker[this.matched]) this.matched++;
      else this.matched = b === marker[0] ? 1 : 0;
      if (this.matched === marker.length) {
        this.seen = true;
        return true;
      }
    }
    return false;
  }
}
