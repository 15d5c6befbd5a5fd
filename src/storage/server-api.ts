// The contract between the channel (which moves bytes) and a 9P server (which answers them).
// M1 (TypeScript) and L1 (Rust/WebAssembly) both implement it, so the storage worker and the
// tests can drive either one the same way.

/**
 * A session's fids by path, for VM snapshots: the guest's 9P client keeps its fids across a
 * snapshot, so a resumed VM's new session must know them (see importSession).
 */
export interface SessionState {
  msize: number;
  /** The attaching user (new files are theirs). */
  uid: number;
  fids: { fid: number; path: string; dir: boolean; openFlags: number | null }[];
}

export interface NinePServer {
  /** Starts a 9P session (one per client connection): its own fids and msize. */
  openSession(maxMessageSize: number): number;
  /** Ends a session as if every fid were clunked. */
  closeSession(session: number): Promise<void>;
  /**
   * Answers one T-message. `reply` may be the very buffer `request` lives in: the server reads
   * everything it needs from the request before writing the reply. Returns the reply's length,
   * or 0 when the request could not be answered at all (too short to carry a tag).
   */
  handle(session: number, request: Uint8Array, reply: Uint8Array): Promise<number>;
  /** A session's negotiated msize and its fids, each by its path from the share root. */
  exportSession(session: number): Promise<SessionState>;
  /**
   * Gives a fresh session the fids of an exported one, walking each path again (files may have
   * changed in between). A fid whose path is gone, or now names another kind of file, is left
   * out: the guest gets EBADF for it, as an NFS client gets a stale handle.
   */
  importSession(session: number, state: SessionState): Promise<void>;
  /**
   * Optional: answers at once, without a promise, when the server can (L1 for reads, writes,
   * getattr...); returns -1 when the request needs `handle`. Saves the channel its awaits.
   */
  handleNow?(session: number, request: Uint8Array, reply: Uint8Array): number;
  /** Optional: runs the code of the first requests once on made-up input, so they start warm. */
  warmUp?(): void;
  /** Called when no request is waiting: a chance to make metadata durable and compact. */
  idle(): Promise<void>;
  /** Flushes everything and releases OPFS handles. */
  close(): Promise<void>;
}
