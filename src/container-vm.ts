// The module a page loads: <script type="module" src=".../container-vm.js">. It defines the
// element and tells it where its workers and wasm files are: beside this file, in build/src/
// during development and in dist/ once built.

import { ContainerVm } from './element/container-vm.js';

ContainerVm.assets = {
  storageWorker: new URL('./storage-worker.js', import.meta.url),
  v86Worker: new URL('./v86-worker.js', import.meta.url),
  v86Wasm: new URL('./v86.wasm', import.meta.url),
  wasiWorker: new URL('./wasi-worker.js', import.meta.url),
};

if (!customElements.get('container-vm')) customElements.define('container-vm', ContainerVm);

export { ContainerVm };
export { assetsIn } from './element/vm-launch.js';
export type { ElementAssets, VmState, ProgressDetail, ErrorDetail, OpfsReadyDetail, ExitDetail, OutputDetail, VmReadyDetail, ContainerVmEventMap } from './element/container-vm.js';
export type { ShareFiles } from './element/share-files.js';
export type { SavedSnapshot } from './element/container-vm.js';
export type { SnapshotInfo } from './element/snapshot-store.js';
export type { StorageUsage } from './element/storage-usage.js';
