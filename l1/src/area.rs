//! The metadata area: a hidden directory in the share root that holds what OPFS cannot
//! (docs/storage-format.md; src/store/metadata-area.ts is M1's side of the same format).
//!   journal    append-only, checksummed records of metadata changes since the last compaction
//!   tables/    one file per directory (named by its dirId in hex): that directory's entries
//!   orphans/   files unlinked while still open; emptied at every start

use crate::format::{decode_records, decode_table, encode_record, encode_table, IndexMap, Meta, MoveBegin, Op, JOURNAL_MAGIC};
use crate::host::{self, Handle, Res};
use std::collections::HashMap;

pub const METADATA_DIR: &str = ".container-vm";
/// Compact once the journal grows past this: bounds both start-up replay and wasted space.
const JOURNAL_LIMIT: u64 = 256 * 1024;

pub struct Area {
    journal: Handle,
    pub tables: Handle,
    pub orphans: Handle,
    /// Journaled changes not yet in a table: dirId -> name -> meta (None: deleted).
    pending: HashMap<u64, IndexMap<Option<Meta>>>,
    journal_size: u64,
    dirty: bool,
    /// A directory rename that a crash interrupted; the store finishes it at open.
    pub unfinished: Option<MoveBegin>,
}

pub fn table_name(dir_id: u64) -> String {
    format!("{:x}", dir_id)
}

impl Area {
    /// Opens the metadata area of the share at `root_path` (an OPFS path): returns the share
    /// root's directory handle and the area, its journal replayed.
    pub fn open(root_path: &str) -> Res<(Handle, Area)> {
        // One host call does what M1's MetadataArea.open does, with the same OPFS calls in
        // parallel where M1 makes them in parallel: create the area, empty orphans/ (files unlinked
        // while open die with the session that held them), open journal, tables/ and orphans/.
        let (root, journal, tables, orphans) = host::open_share(root_path)?;
        let mut a = Area { journal, tables, orphans, pending: HashMap::new(), journal_size: 0, dirty: false, unfinished: None };
        let size = host::sah_size(journal) as usize;
        let mut bytes = vec![0u8; size];
        host::sah_read(journal, &mut bytes, 0)?;
        if size < JOURNAL_MAGIC.len() || &bytes[..8] != JOURNAL_MAGIC {
            // New share, or a journal whose very first write was torn: start it afresh.
            host::sah_truncate(journal, 0)?;
            host::sah_write(journal, JOURNAL_MAGIC, 0)?;
            a.journal_size = JOURNAL_MAGIC.len() as u64;
        } else {
            let (records, valid) = decode_records(&bytes[8..]);
            for ops in records {
                for op in ops {
                    match &op {
                        Op::MoveBegin(m) => a.unfinished = Some(m.clone()),
                        Op::MoveEnd => a.unfinished = None,
                        _ => {}
                    }
                    a.remember(op);
                }
            }
            a.journal_size = (8 + valid) as u64;
            // Cut a torn tail so later records do not follow garbage.
            if (a.journal_size as usize) < size {
                host::sah_truncate(journal, a.journal_size)?;
            }
        }
        Ok((root, a))
    }

    fn remember(&mut self, op: Op) {
        let (dir_id, name, meta) = match op {
            Op::Put { dir_id, name, meta } => (dir_id, name, Some(meta)),
            Op::Delete { dir_id, name } => (dir_id, name, None),
            _ => return,
        };
        self.pending.entry(dir_id).or_insert_with(IndexMap::new).insert(name, meta);
    }

    /// Appends one atomic record. Durable once `flush` runs (on fsync and when the share is idle).
    pub fn append(&mut self, ops: Vec<Op>) -> Res<()> {
        let record = encode_record(&ops);
        host::sah_write(self.journal, &record, self.journal_size)?;
        self.journal_size += record.len() as u64;
        for op in ops {
            self.remember(op);
        }
        self.dirty = true;
        Ok(())
    }

    pub fn flush(&mut self) {
        if !self.dirty {
            return;
        }
        let _ = host::sah_flush(self.journal);
        self.dirty = false;
    }

    pub fn needs_compaction(&self) -> bool {
        self.journal_size > JOURNAL_LIMIT
    }

    /// A directory's entries as last recorded: its table (bytes as read) with the journal's later changes.
    pub fn merge(&self, dir_id: u64, table: Option<Vec<u8>>) -> IndexMap<Meta> {
        let mut entries = match table {
            None => IndexMap::new(),
            Some(bytes) => decode_table(&bytes).unwrap_or_else(|| {
                host::warn(&format!("container-vm L1: metadata table {} is damaged; its entries get default metadata", table_name(dir_id)));
                IndexMap::new()
            }),
        };
        if let Some(changes) = self.pending.get(&dir_id) {
            for (name, meta) in changes.iter() {
                match meta {
                    Some(m) => entries.insert(name.to_string(), m.clone()),
                    None => {
                        entries.remove(name);
                    }
                }
            }
        }
        entries
    }

    pub fn read_directory(&self, dir_id: u64) -> IndexMap<Meta> {
        self.merge(dir_id, host::read_table(self.tables, &table_name(dir_id)))
    }

    pub fn pending_dirs(&self) -> Vec<u64> {
        self.pending.keys().copied().collect()
    }

    /// Writes a table to `<id>.tmp`, flushes it and moves it over `<id>`; an empty one is removed.
    pub fn write_table<'a>(&self, dir_id: u64, entries: impl Iterator<Item = (&'a str, &'a Meta)>, empty: bool) -> Res<()> {
        let name = table_name(dir_id);
        if empty {
            let _ = host::remove_entry(self.tables, &name, false);
            return Ok(());
        }
        let tmp = host::get_file(self.tables, &format!("{}.tmp", name), true)?;
        let h = host::open_sync(tmp, false)?;
        let bytes = encode_table(entries);
        let written = host::sah_truncate(h, 0)
            .and_then(|_| host::sah_write(h, &bytes, 0))
            .and_then(|_| host::sah_flush(h));
        host::sah_close(h);
        written?;
        let moved = host::move_file(tmp, self.tables, &name);
        host::forget(tmp);
        moved
    }

    /// After every pending directory's table is written and flushed: the journal starts over.
    pub fn compacted(&mut self) -> Res<()> {
        self.pending.clear();
        host::sah_truncate(self.journal, JOURNAL_MAGIC.len() as u64)?;
        host::sah_flush(self.journal)?;
        self.journal_size = JOURNAL_MAGIC.len() as u64;
        self.dirty = false;
        Ok(())
    }

    /// Forgets the table of a directory that no longer exists.
    pub fn drop_table(&mut self, dir_id: u64) {
        self.pending.remove(&dir_id);
        let _ = host::remove_entry(self.tables, &table_name(dir_id), false);
    }

    pub fn close(&mut self) {
        self.flush();
        host::sah_close(self.journal);
    }
}
