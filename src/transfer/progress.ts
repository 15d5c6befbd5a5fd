// What every transfer reports as it goes: bytes done of a total (0 when unknown).
export type TransferProgress = (loaded: number, total: number) => void;

/** Counts and sizes of what an import put into the share. */
export interface ImportResult {
  files: number;
  directories: number;
  symlinks: number;
  bytes: number;
}

export function emptyImportResult(): ImportResult {
  return { files: 0, directories: 0, symlinks: 0, bytes: 0 };
}

/** Joins share-relative path pieces, ignoring empty ones. */
export function joinPath(...parts: string[]): string {
  return parts.flatMap((p) => p.split('/')).filter((p) => p !== '' && p !== '.').join('/');
}
