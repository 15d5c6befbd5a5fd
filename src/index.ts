// The library's public API (the <container-vm> element is added on top of it).

export { StorageHost, StorageError } from './storage/storage-host.js';
export type { StorageOptions } from './storage/storage-host.js';
export type { Backend } from './storage/storage-protocol.js';
export type { ChannelEndpoint } from './channel/layout.js';
export { AsyncChannelClient } from './channel/async-client.js';
export { SyncChannelClient } from './channel/sync-client.js';
export { P9Client, SyncP9Client } from './client/client.js';
export { P9File } from './client/file.js';
export type { Attr, SetAttr } from './client/file.js';
export { ShareFs } from './client/share-fs.js';
export type { Stat, DirEntryInfo, EntryType } from './client/share-fs.js';
export { Errno, FsError } from './wire/errno.js';
export { OpfsPreopen, OpfsDirectory, OpfsFile, Filestat as WasiFilestat } from './wasi/opfs-fd.js';
export { P9Session } from './wasi/session.js';
export { installOpfsImports, pollOneoff } from './wasi/imports.js';
export type { PollableFd } from './wasi/imports.js';
