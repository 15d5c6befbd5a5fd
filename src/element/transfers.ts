// Copies into and out of the share for the element: files and folders, zips, downloads. Each
// reports progress while it runs and fails with a VmError the element turns into one `error`.
// The zip code (and fflate with it) is loaded the first time a zip is asked for. An import resolves
// once a running guest will see what it wrote (`changed`: the guest agent drops the guest's 9p caches).

import { ShareFs } from '../client/share-fs.js';
import { VmError } from '../errors.js';
import { ImportSource, ImportItem, collectItems, importItems } from '../transfer/file-import.js';
import { ImportResult } from '../transfer/progress.js';
import { saveBlob } from '../transfer/download.js';
import { readAll } from '../streams.js';
import type { ZipExportOptions } from '../transfer/zip-export.js';
import { formatBytes } from './storage-usage.js';

export interface TransferReport {
  /** Progress of the copy named `what`: `text` for the status line, `fraction` for its bar (null: unknown). */
  progress(what: string, text: string, fraction: number | null, loaded: number, total: number): void;
  /** The copy ended, either way. */
  ended(): void;
}

type Progress = (loaded: number, total: number, verb?: string) => void;

const VERBS: Record<string, string> = { import: 'Importing', 'import-zip': 'Importing', 'export-zip': 'Zipping', download: 'Downloading' };

export class ShareTransfers {
  constructor(private readonly openFs: () => Promise<ShareFs>, private readonly report: TransferReport, private readonly changed: () => Promise<void>) {}

  importFiles(source: ImportSource | Promise<ImportItem[]>, dest: string, name: string): Promise<ImportResult> {
    return this.run('import', name, (fs, progress) => this.changing(async () => importItems(fs, await collectItems(await source), dest, progress)));
  }

  importZip(url: string, dest: string): Promise<ImportResult> {
    const name = new URL(url, document.baseURI).pathname.split('/').pop() || url;
    return this.run('import-zip', name, async (fs, progress) => {
      const { fetchWithProgress, unpackZip } = await import('../transfer/zip-import.js');
      const zip = await fetchWithProgress(url, (loaded, total) => progress(loaded, total, 'Downloading'));
      return this.changing(() => unpackZip(fs, zip, dest, (loaded, total) => progress(loaded, total, 'Unpacking')));
    });
  }

  /** An import, then the guest told, even when it failed halfway. */
  private async changing<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } finally {
      await this.changed();
    }
  }

  exportZip(path: string, options: Omit<ZipExportOptions, 'onProgress'>): Promise<Blob> {
    return this.run('export-zip', path || 'share', async (fs, progress) => {
      const { exportZip } = await import('../transfer/zip-export.js');
      return exportZip(fs, path, { ...options, onProgress: progress });
    });
  }

  downloadFile(path: string): Promise<void> {
    const name = path.split('/').filter(Boolean).pop() ?? 'file';
    return this.run('download', name, async (fs, progress) => {
      const { size } = await fs.stat(path);
      const bytes = await readAll(await fs.readStream(path), (loaded) => progress(loaded, size));
      saveBlob(new Blob([bytes]), name);
    });
  }

  private async run<T>(kind: string, name: string, work: (fs: ShareFs, progress: Progress) => Promise<T>): Promise<T> {
    const what = `${kind} ${name}`;
    const progress: Progress = (loaded, total, verb = VERBS[kind] ?? kind) => {
      this.report.progress(what, progressText(verb, name, loaded, total), total ? loaded / total : null, loaded, total);
    };
    try {
      return await work(await this.openFs(), progress);
    } catch (e) {
      if (e instanceof VmError) throw e;
      throw new VmError('transfer-failed', `${VERBS[kind] ?? kind} ${name} failed: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      this.report.ended();
    }
  }
}

/** "Downloading bzImage: 1.2 MiB of 5.0 MiB" (without "of …" when the total is unknown). */
export function progressText(verb: string, name: string, loaded: number, total: number): string {
  return total ? `${verb} ${name}: ${formatBytes(loaded)} of ${formatBytes(total)}` : `${verb} ${name}: ${formatBytes(loaded)}`;
}
