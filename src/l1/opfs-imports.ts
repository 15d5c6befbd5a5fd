// The host functions L1 (l1/src/host.rs) imports as module "opfs". OPFS objects are kept in a
// table and named by small integers. Operations that return promises are wrapped in
// WebAssembly.Suspending (JSPI): the wasm stack waits for the promise. Sync access handle reads,
// writes, sizes and flushes are synchronous and stay plain imports, so the hot path of a 4 KiB
// read or write never leaves wasm for a promise. Failures return negative Linux errno values,
// mapped from DOMException names as M1 maps them.

import { Errno, errnoFromDomError } from '../wire/errno.js';
import { moveOpfsTree, removeMovedDir } from '../store/opfs-tree.js';

const decoder = new TextDecoder();
const encoder = new TextEncoder();

type Suspending = new (fn: (...args: never[]) => unknown) => WebAssembly.ImportValue;
/** JSPI's constructors; TypeScript's DOM types do not have them yet. */
export const jspi = WebAssembly as unknown as {
  Suspending?: Suspending;
  promising?: <F extends (...args: never[]) => unknown>(fn: F) => (...args: Parameters<F>) => Promise<ReturnType<F>>;
};

export class OpfsHost {
  private readonly objects = new Map<number, unknown>();
  private nextHandle = 1;
  /** Bytes an async import produced, waiting for take_blob to copy them into wasm memory. */
  private blob: Uint8Array = new Uint8Array(0);
  memory: WebAssembly.Memory | null = null;
  /** Where the reply being built goes: sah_read_out reads file data straight into it. */
  replyOut: Uint8Array = new Uint8Array(0);
  /** The message of a Rust panic, reported just before the module traps. */
  panicMessage: string | null = null;
  private preopened: { path: string; share: Promise<OpenedShare> } | null = null;

  /**
   * Starts opening the share while the module downloads and compiles; L1's open_share then
   * takes the result instead of making the same OPFS calls after it.
   */
  preopen(path: string): void {
    const share = openShare(path);
    share.catch(() => undefined); // a failure is reported when open_share awaits it
    this.preopened = { path, share };
  }

  /** Releases a preopened share the module never took (it failed to load): the journal's handle is exclusive. */
  async abandon(): Promise<void> {
    const pending = this.preopened;
    this.preopened = null;
    (await pending?.share.catch(() => null))?.journal.close();
  }

  private bytes(ptr: number, len: number): Uint8Array {
    return new Uint8Array(this.memory!.buffer, ptr, len);
  }
  private str(ptr: number, len: number): string {
    return decoder.decode(this.bytes(ptr, len));
  }
  private add(o: unknown): number {
    const h = this.nextHandle++;
    this.objects.set(h, o);
    return h;
  }
  private get<T>(h: number): T {
    const o = this.objects.get(h);
    if (o === undefined) throw new Error(`L1 used an unknown OPFS handle ${h}`);
    return o as T;
  }
  private setBlob(b: Uint8Array): number {
    this.blob = b;
    return b.length;
  }

  imports(): WebAssembly.ModuleImports {
    const Suspending = jspi.Suspending;
    if (!Suspending) throw new Error('this browser has no JSPI (WebAssembly.Suspending), which the L1 backend needs');
    const dir = (h: number) => this.get<FileSystemDirectoryHandle>(h);
    const file = (h: number) => this.get<FileSystemFileHandle>(h);
    const sah = (h: number) => this.get<FileSystemSyncAccessHandle>(h);
    /** An OPFS operation that settles later; any failure becomes -errno. */
    const later = (fn: (...args: number[]) => Promise<number>) =>
      new Suspending(async (...args: number[]) => {
        try {
          return await fn(...args);
        } catch (e) {
          return -errnoFromDomError(e);
        }
      });
    /** A synchronous operation; any failure becomes -errno. */
    const now = (fn: (...args: number[]) => number) => (...args: number[]) => {
      try {
        return fn(...args);
      } catch (e) {
        return -errnoFromDomError(e);
      }
    };

    return {
      open_share: later(async (ptr, len, out) => {
        const path = this.str(ptr, len);
        const share = this.preopened?.path === path ? await this.preopened.share : await openShare(path);
        this.preopened = null;
        new Uint32Array(this.memory!.buffer, out, 4).set([share.root, share.journal, share.tables, share.orphans].map((o) => this.add(o)));
        return 0;
      }),
      get_dir: later(async (d, ptr, len, create) => this.add(await dir(d).getDirectoryHandle(this.str(ptr, len), { create: create !== 0 }))),
      get_file: later(async (d, ptr, len, create) => this.add(await dir(d).getFileHandle(this.str(ptr, len), { create: create !== 0 }))),
      remove_entry: later(async (d, ptr, len, recursive) => {
        await dir(d).removeEntry(this.str(ptr, len), { recursive: recursive !== 0 });
        return 0;
      }),
      list_dir: later(async (d, tables, ptr, len) => {
        const handle = dir(d);
        const [entries, table] = await Promise.all([
          (async () => {
            const out: [string, FileSystemHandle][] = [];
            for await (const entry of handle.entries()) out.push(entry);
            return out;
          })(),
          this.readTable(dir(tables), this.str(ptr, len)),
        ]);
        return this.setBlob(this.encodeListing(entries, table));
      }),
      read_table: later(async (tables, ptr, len) => {
        const table = await this.readTable(dir(tables), this.str(ptr, len));
        return table ? this.setBlob(table) : -Errno.ENOENT;
      }),
      move_file: later(async (f, d, ptr, len) => {
        await file(f).move(dir(d), this.str(ptr, len));
        return 0;
      }),
      move_tree: later(async (from, to) => {
        await moveOpfsTree(dir(from), dir(to));
        return 0;
      }),
      remove_moved_dir: later(async (parent, old, movedTo) => {
        await removeMovedDir(dir(parent), dir(old), dir(movedTo));
        return 0;
      }),
      resolve_dir: later(async (root, ptr, len) => {
        let d = dir(root);
        for (const part of this.str(ptr, len).split('/').filter(Boolean)) d = await d.getDirectoryHandle(part);
        return this.add(d);
      }),
      open_sync: later(async (f, shared) => {
        // 'readwrite-unsafe' lets page code read a file while the VM runs; the journal and
        // tables take the default, exclusive handle.
        const h = shared ? await file(f).createSyncAccessHandle({ mode: 'readwrite-unsafe' }) : await file(f).createSyncAccessHandle();
        return this.add(h);
      }),
      file_info: later(async (f, out) => {
        const blob = await file(f).getFile();
        new Float64Array(this.memory!.buffer, out, 2).set([blob.size, blob.lastModified]);
        return 0;
      }),
      estimate: later(async (out) => {
        const e = await navigator.storage.estimate();
        new Float64Array(this.memory!.buffer, out, 2).set([e.quota ?? 0, e.usage ?? 0]);
        return 0;
      }),

      take_blob: (ptr: number) => {
        this.bytes(ptr, this.blob.length).set(this.blob);
        this.blob = new Uint8Array(0);
      },
      // The hot path: written out (no wrapper, no rest arguments), as they run once per read or write.
      sah_read: (h: number, ptr: number, len: number, at: number) => {
        try { return sah(h).read(this.bytes(ptr, len), { at }); } catch (e) { return -errnoFromDomError(e); }
      },
      sah_read_out: (h: number, len: number, at: number, offset: number) => {
        try { return sah(h).read(this.replyOut.subarray(offset, offset + len), { at }); } catch (e) { return -errnoFromDomError(e); }
      },
      sah_write: (h: number, ptr: number, len: number, at: number) => {
        try { return sah(h).write(this.bytes(ptr, len), { at }); } catch (e) { return -errnoFromDomError(e); }
      },
      sah_size: (h: number) => sah(h).getSize(),
      sah_truncate: now((h, size) => {
        sah(h).truncate(size);
        return 0;
      }),
      sah_flush: now((h) => {
        sah(h).flush();
        return 0;
      }),
      sah_close: (h: number) => {
        sah(h).close();
        this.objects.delete(h);
      },
      forget: (h: number) => {
        this.objects.delete(h);
      },
      now_ms: () => performance.timeOrigin + performance.now(),
      random_u32: () => crypto.getRandomValues(new Uint32Array(1))[0]!,
      warn: (ptr: number, len: number) => console.warn(this.str(ptr, len)),
      panicked: (ptr: number, len: number) => {
        this.panicMessage = this.str(ptr, len);
      },
    };
  }

  private async readTable(tables: FileSystemDirectoryHandle, name: string): Promise<Uint8Array | null> {
    let f: File;
    try {
      f = await (await tables.getFileHandle(name)).getFile();
    } catch {
      return null;
    }
    return new Uint8Array(await f.arrayBuffer());
  }

  /** table length (u32, 0xffffffff: none), table bytes, then per entry: kind u8, handle u32, name (u16 + UTF-8). */
  private encodeListing(entries: [string, FileSystemHandle][], table: Uint8Array | null): Uint8Array {
    const names = entries.map(([name]) => encoder.encode(name));
    let size = 4 + (table?.length ?? 0);
    for (const n of names) size += 7 + n.length;
    const out = new Uint8Array(size);
    const view = new DataView(out.buffer);
    view.setUint32(0, table ? table.length : 0xffffffff, true);
    let pos = 4;
    if (table) { out.set(table, 4); pos += table.length; }
    entries.forEach(([, handle], i) => {
      const name = names[i]!;
      view.setUint8(pos, handle.kind === 'directory' ? 2 : 1);
      view.setUint32(pos + 1, this.add(handle), true);
      view.setUint16(pos + 5, name.length, true);
      out.set(name, pos + 7);
      pos += 7 + name.length;
    });
    return out;
  }
}

interface OpenedShare {
  root: FileSystemDirectoryHandle;
  journal: FileSystemSyncAccessHandle;
  tables: FileSystemDirectoryHandle;
  orphans: FileSystemDirectoryHandle;
}

/** The OPFS calls of M1's Store.open and MetadataArea.open, overlapped the same way. */
async function openShare(path: string): Promise<OpenedShare> {
  let root = await navigator.storage.getDirectory();
  for (const part of path.split('/').filter(Boolean)) root = await root.getDirectoryHandle(part, { create: true });
  const area = await root.getDirectoryHandle('.container-vm', { create: true });
  // Files unlinked while open die with the session that held them.
  try { await area.removeEntry('orphans', { recursive: true }); } catch { /* none yet */ }
  const [journalFile, tables, orphans] = await Promise.all([
    area.getFileHandle('journal', { create: true }),
    area.getDirectoryHandle('tables', { create: true }),
    area.getDirectoryHandle('orphans', { create: true }),
  ]);
  // The journal's handle is exclusive: a second server on the same share fails here.
  const journal = await journalFile.createSyncAccessHandle();
  return { root, journal, tables, orphans };
}
