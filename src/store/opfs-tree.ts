// Moving directory trees in OPFS, which has no directory rename: files move one by one with
// move(), directories are recreated. Shared by M1's store and L1's host (both follow
// docs/storage-format.md's MoveBegin/MoveEnd journal around these calls).

/**
 * Removes a directory whose indexed entries were moved to `movedTo`. Should other code have added
 * entries the index never saw, they are moved too rather than deleted.
 */
export async function removeMovedDir(parent: FileSystemDirectoryHandle, old: FileSystemDirectoryHandle, movedTo: FileSystemDirectoryHandle): Promise<void> {
  try {
    await parent.removeEntry(old.name);
  } catch (e) {
    if ((e as DOMException).name !== 'InvalidModificationError') throw e;
    await moveOpfsTree(old, movedTo);
    await parent.removeEntry(old.name);
  }
}

/** Moves every entry of `from` into `to` (files with move(), directories recreated), leaving `from` empty. */
export async function moveOpfsTree(from: FileSystemDirectoryHandle, to: FileSystemDirectoryHandle): Promise<void> {
  const entries: [string, FileSystemHandle][] = [];
  for await (const e of from.entries()) entries.push(e);
  for (const [name, h] of entries) {
    if (h.kind === 'file') {
      await (h as FileSystemFileHandle).move(to, name);
    } else {
      const sub = await to.getDirectoryHandle(name, { create: true });
      await moveOpfsTree(h as FileSystemDirectoryHandle, sub);
      await from.removeEntry(name);
    }
  }
}
