// The real storage worker in a browser that lacks sync access handles, as some do: `?lack=method`
// removes FileSystemFileHandle.createSyncAccessHandle (browsers without it), `?lack=backend` keeps
// it but makes it fail with NotSupportedError (WebKitGTK's storage backend does that).

import '../../../src/storage-worker.js';

const lack = new URL(self.location.href).searchParams.get('lack');
const proto = FileSystemFileHandle.prototype as unknown as Record<string, unknown>;
if (lack === 'method') delete proto.createSyncAccessHandle;
if (lack === 'backend') {
  proto.createSyncAccessHandle = () => Promise.reject(new DOMException('Backend does not support this operation', 'NotSupportedError'));
}
