// The library's public API (the <container-vm> element is added on top of it).

export { StorageHost, StorageError } from './channel/storage-host.js';
export type { StorageOptions } from './channel/storage-host.js';
export type { Backend } from './channel/storage-protocol.js';
export type { ChannelEndpoint } from './channel/layout.js';
export { AsyncChannelClient } from './channel/async-client.js';
export { SyncChannelClient } from './channel/sync-client.js';
export { P9Client, SyncP9Client } from './p9/client.js';
export { ShareFs } from './p9/share-fs.js';
export type { Stat, DirEntryInfo, EntryType } from './p9/share-fs.js';
export { Errno, FsError } from './p9/errno.js';
export { OpfsPreopen, OpfsDirectory, OpfsFile, Filestat as WasiFilestat } from './wasi/opfs-fd.js';
export { P9Session } from './wasi/session.js';
export { installOpfsImports, pollOneoff } from './wasi/imports.js';
export type { PollableFd } from './wasi/imports.js';
