// The metadata area: a hidden directory in the share root that holds what OPFS cannot.
//   journal    append-only, checksummed records of metadata changes since the last compaction
//   tables/    one file per directory (named by its dirId in hex): that directory's entries
//   orphans/   files unlinked while still open; emptied at every start
// Start-up reads only the journal, which compaction keeps small; a directory's table is read
// when the directory is first listed. See docs/storage-format.md.

import {
  JOURNAL_MAGIC, JournalOp, Meta, OpCode, decodeRecords, decodeTable, encodeRecord, encodeTable,
} from './format.js';

export const METADATA_DIR = '.container-vm';
const JOURNAL_FILE = 'journal';
const TABLES_DIR = 'tables';
const ORPHANS_DIR = 'orphans';
/** Compact once the journal grows past this: bounds both start-up replay and wasted space. */
const JOURNAL_LIMIT = 256 * 1024;

type MoveBegin = Extract<JournalOp, { op: OpCode.MoveBegin }>;

export class MetadataArea {
  /** Journaled changes not yet in a table: dirId -> name -> meta (null: deleted). */
  private readonly pending = new Map<number, Map<string, Meta | null>>();
  private journalSize: number;
  private dirty = false;
  /** A directory rename that a crash interrupted; the store finishes it at open. */
  readonly unfinishedMove: MoveBegin | null;

  private constructor(
    private readonly journal: FileSystemSyncAccessHandle,
    private readonly tables: FileSystemDirectoryHandle,
    readonly orphans: FileSystemDirectoryHandle,
  ) {
    const size = journal.getSize();
    const bytes = new Uint8Array(size);
    journal.read(bytes, { at: 0 });
    let unfinished: MoveBegin | null = null;
    if (size < JOURNAL_MAGIC.length || !JOURNAL_MAGIC.every((b, i) => bytes[i] === b)) {
      // New share, or a journal whose very first write was torn: start it afresh.
      journal.truncate(0);
      journal.write(JOURNAL_MAGIC, { at: 0 });
      this.journalSize = JOURNAL_MAGIC.length;
    } else {
      const { records, validLength } = decodeRecords(bytes.subarray(JOURNAL_MAGIC.length));
      for (const ops of records) {
        for (const op of ops) {
          this.remember(op);
          if (op.op === OpCode.MoveBegin) unfinished = op;
          else if (op.op === OpCode.MoveEnd) unfinished = null;
        }
      }
      this.journalSize = JOURNAL_MAGIC.length + validLength;
      // Cut a torn tail so later records do not follow garbage.
      if (this.journalSize < size) journal.truncate(this.journalSize);
    }
    this.unfinishedMove = unfinished;
  }

  static async open(shareRoot: FileSystemDirectoryHandle): Promise<MetadataArea> {
    const area = await shareRoot.getDirectoryHandle(METADATA_DIR, { create: true });
    // Files unlinked while open die with the session that held them.
    try { await area.removeEntry(ORPHANS_DIR, { recursive: true }); } catch { /* none yet */ }
    const [journalFile, tables, orphans] = await Promise.all([
      area.getFileHandle(JOURNAL_FILE, { create: true }),
      area.getDirectoryHandle(TABLES_DIR, { create: true }),
      area.getDirectoryHandle(ORPHANS_DIR, { create: true }),
    ]);
    const journal = await journalFile.createSyncAccessHandle();
    return new MetadataArea(journal, tables, orphans);
  }

  private remember(op: JournalOp): void {
    if (op.op !== OpCode.Put && op.op !== OpCode.Delete) return;
    let dir = this.pending.get(op.dirId);
    if (!dir) { dir = new Map(); this.pending.set(op.dirId, dir); }
    dir.set(op.name, op.op === OpCode.Put ? op.meta : null);
  }

  /** Appends one atomic record. Durable once `flush` runs (the store flushes on fsync and when idle). */
  append(ops: readonly JournalOp[]): void {
    const record = encodeRecord(ops);
    this.journal.write(record, { at: this.journalSize });
    this.journalSize += record.length;
    for (const op of ops) this.remember(op);
    this.dirty = true;
  }

  flush(): void {
    if (!this.dirty) return;
    this.journal.flush();
    this.dirty = false;
  }

  get needsCompaction(): boolean {
    return this.journalSize > JOURNAL_LIMIT;
  }

  /** A directory's entries as last recorded: its table with the journal's later changes applied. */
  async readDirectory(dirId: number): Promise<Map<string, Meta>> {
    const entries = await this.readTable(dirId);
    const changes = this.pending.get(dirId);
    if (changes) {
      for (const [name, meta] of changes) {
        if (meta) entries.set(name, meta); else entries.delete(name);
      }
    }
    return entries;
  }

  private async readTable(dirId: number): Promise<Map<string, Meta>> {
    let file: File;
    try {
      file = await (await this.tables.getFileHandle(tableName(dirId))).getFile();
    } catch {
      return new Map();
    }
    const table = decodeTable(new Uint8Array(await file.arrayBuffer()));
    if (!table) console.warn(`container-vm: metadata table ${tableName(dirId)} is damaged; its entries get default metadata`);
    return table ?? new Map();
  }

  /**
   * Folds the journal into the tables and empties it. `current` gives the live entries of a
   * directory the store has loaded (fresher than table + journal). Each table is written to a
   * temporary file and moved over the old one, and the journal is cut only after every table
   * is flushed: a crash at any point leaves tables that, with the journal replayed, are exact.
   */
  async compact(current: (dirId: number) => Map<string, Meta> | undefined): Promise<void> {
    for (const dirId of this.pending.keys()) {
      const entries = current(dirId) ?? await this.readDirectory(dirId);
      const name = tableName(dirId);
      if (entries.size === 0) {
        await this.tables.removeEntry(name).catch(() => undefined);
        continue;
      }
      const tmp = await this.tables.getFileHandle(`${name}.tmp`, { create: true });
      const h = await tmp.createSyncAccessHandle();
      try {
        const bytes = encodeTable(entries);
        h.truncate(0);
        h.write(bytes, { at: 0 });
        h.flush();
      } finally {
        h.close();
      }
      await tmp.move(this.tables, name);
    }
    this.pending.clear();
    this.journal.truncate(JOURNAL_MAGIC.length);
    this.journal.flush();
    this.journalSize = JOURNAL_MAGIC.length;
    this.dirty = false;
  }

  /** Forgets the table of a directory that no longer exists. */
  async dropTable(dirId: number): Promise<void> {
    this.pending.delete(dirId);
    await this.tables.removeEntry(tableName(dirId)).catch(() => undefined);
  }

  close(): void {
    this.flush();
    this.journal.close();
  }
}

function tableName(dirId: number): string {
  return dirId.toString(16);
}
