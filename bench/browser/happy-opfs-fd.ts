// The approach S1 improves on, for the WASI benchmark: a browser_wasi_shim preopen over happy-opfs's
// synchronous API (a worker answering over a SharedArrayBuffer), where every read or write moves
// the whole file (readFileSync / writeFileSync), as a shim without random access must.
// Only what bench/wasi/iobench.c calls is implemented.

import { Fd, wasi } from '@bjorn3/browser_wasi_shim';
import { mkdirSync, readDirSync, readFileSync, statSync, writeFileSync } from 'happy-opfs';
import { Filestat } from '../../src/wasi/opfs-fd.js';

/** A happy-opfs result's value, or an error saying which call failed and why. */
function ok<T>(r: { isErr(): boolean; unwrap(): T; unwrapErr(): unknown }, what: string): T {
  if (r.isErr()) throw new Error(`happy-opfs ${what}: ${String(r.unwrapErr())}`);
  return r.unwrap();
}

function join(dir: string, path: string): string {
  const parts = `${dir}/${path}`.split('/').filter((p) => p && p !== '.');
  return `/${parts.join('/')}`;
}

function stat(path: string): Filestat | null {
  const r = statSync(path);
  if (r.isErr()) return null;
  const h = r.unwrap();
  const isFile = h.kind === 'file';
  const st = new Filestat(0n, isFile ? wasi.FILETYPE_REGULAR_FILE : wasi.FILETYPE_DIRECTORY, BigInt(isFile ? (h as unknown as { size: number }).size : 0));
  st.nlink = 1n;
  return st;
}

class HappyFile extends Fd {
  private position = 0n;
  constructor(private readonly path: string) { super(); }

  private read(): Uint8Array { return ok(readFileSync(this.path), `readFileSync ${this.path}`) as Uint8Array; }

  override fd_pread(size: number, offset: bigint): { ret: number; data: Uint8Array } {
    return { ret: 0, data: this.read().slice(Number(offset), Number(offset) + size) };
  }

  override fd_read(size: number): { ret: number; data: Uint8Array } {
    const r = this.fd_pread(size, this.position);
    this.position += BigInt(r.data.length);
    return r;
  }

  override fd_pwrite(data: Uint8Array, offset: bigint): { ret: number; nwritten: number } {
    const old = this.read();
    const end = Math.max(old.length, Number(offset) + data.length);
    const next = new Uint8Array(end);
    next.set(old);
    next.set(data, Number(offset));
    ok(writeFileSync(this.path, next), `writeFileSync ${this.path}`);
    return { ret: 0, nwritten: data.length };
  }

  override fd_write(data: Uint8Array): { ret: number; nwritten: number } {
    const r = this.fd_pwrite(data, this.position);
    this.position += BigInt(r.nwritten);
    return r;
  }

  override fd_seek(offset: bigint, whence: number): { ret: number; offset: bigint } {
    const base = whence === wasi.WHENCE_CUR ? this.position : whence === wasi.WHENCE_END ? BigInt(this.read().length) : 0n;
    this.position = base + offset;
    return { ret: 0, offset: this.position };
  }

  override fd_filestat_get(): { ret: number; filestat: wasi.Filestat | null } {
    const st = stat(this.path);
    return { ret: st ? 0 : wasi.ERRNO_NOENT, filestat: st };
  }

  override fd_fdstat_get(): { ret: number; fdstat: wasi.Fdstat | null } {
    return { ret: 0, fdstat: new wasi.Fdstat(wasi.FILETYPE_REGULAR_FILE, 0) };
  }

  override fd_close(): number { return 0; }
}

export class HappyDirectory extends Fd {
  private listing: string[] | null = null;
  constructor(private readonly path: string, private readonly prestatName: string | null = null) { super(); }

  override fd_prestat_get(): { ret: number; prestat: wasi.Prestat | null } {
    return this.prestatName === null ? { ret: wasi.ERRNO_BADF, prestat: null } : { ret: 0, prestat: wasi.Prestat.dir(this.prestatName) };
  }

  override fd_fdstat_get(): { ret: number; fdstat: wasi.Fdstat | null } {
    const st = new wasi.Fdstat(wasi.FILETYPE_DIRECTORY, 0);
    st.fs_rights_base = (1n << 29n) - 1n;
    st.fs_rights_inherited = (1n << 29n) - 1n;
    return { ret: 0, fdstat: st };
  }

  override fd_filestat_get(): { ret: number; filestat: wasi.Filestat | null } {
    return { ret: 0, filestat: stat(this.path) };
  }

  override fd_close(): number { return 0; }

  override path_open(_dirflags: number, path: string, oflags: number): { ret: number; fd_obj: Fd | null } {
    const full = join(this.path, path);
    const st = stat(full);
    if (!st) {
      if (!(oflags & wasi.OFLAGS_CREAT)) return { ret: wasi.ERRNO_NOENT, fd_obj: null };
      ok(writeFileSync(full, new Uint8Array()), `writeFileSync ${full}`);
      return { ret: 0, fd_obj: new HappyFile(full) };
    }
    if (st.filetype === wasi.FILETYPE_DIRECTORY) return { ret: 0, fd_obj: new HappyDirectory(full) };
    if (oflags & wasi.OFLAGS_TRUNC) ok(writeFileSync(full, new Uint8Array()), `writeFileSync ${full}`);
    return { ret: 0, fd_obj: new HappyFile(full) };
  }

  override path_filestat_get(_flags: number, path: string): { ret: number; filestat: wasi.Filestat | null } {
    const st = stat(join(this.path, path));
    return { ret: st ? 0 : wasi.ERRNO_NOENT, filestat: st };
  }

  override path_create_directory(path: string): number {
    const full = join(this.path, path);
    if (stat(full)) return wasi.ERRNO_EXIST;
    return mkdirSync(full).isOk() ? 0 : wasi.ERRNO_IO;
  }

  override fd_readdir_single(cookie: bigint): { ret: number; dirent: wasi.Dirent | null } {
    if (cookie === 0n || !this.listing) {
      this.listing = (ok(readDirSync(this.path), `readDirSync ${this.path}`) as { path: string }[]).map((e) => e.path);
    }
    const name = this.listing[Number(cookie)];
    if (name === undefined) return { ret: 0, dirent: null };
    return { ret: 0, dirent: new wasi.Dirent(cookie + 1n, 0n, name, wasi.FILETYPE_REGULAR_FILE) };
  }
}
