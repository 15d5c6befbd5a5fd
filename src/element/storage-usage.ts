// The origin's storage use, for the element's status line and storageUsage(): what
// navigator.storage.estimate() reports (all of this site's storage, not only the share) and
// whether the browser keeps it under storage pressure (navigator.storage.persist()).

export interface StorageUsage {
  /** Bytes this site stores (share, snapshots, caches). */
  usage: number;
  /** Bytes it may store before writes fail with QuotaExceededError (ENOSPC in the guest). */
  quota: number;
  /** True when the browser will not evict this site's storage under pressure. */
  persisted: boolean;
}

export async function storageUsage(): Promise<StorageUsage> {
  const storage = navigator.storage;
  const [{ usage = 0, quota = 0 }, persisted] = await Promise.all([storage.estimate(), storage.persisted?.() ?? false]);
  return { usage, quota, persisted };
}

/** Asks the browser to keep this site's storage; resolves with whether it will. */
export async function requestPersistence(): Promise<boolean> {
  return (await navigator.storage.persist?.()) ?? false;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(0)} KiB`;
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 / 1024 / 1024).toFixed(1)} GiB`;
}

export function usageText(u: StorageUsage): string {
  return `${formatBytes(u.usage)} of ${formatBytes(u.quota)} used${u.persisted ? ', persistent' : ''}`;
}
