// Runs in a module worker: drives the storage worker with the blocking client, as S1 will.

import { ChannelEndpoint } from '../../../src/channel/layout.js';
import { SyncChannelClient } from '../../../src/channel/sync-client.js';
import { SyncP9Client } from '../../../src/p9/client.js';
import { FsError } from '../../../src/p9/errno.js';
import { MessageType, NOFID, OpenFlag } from '../../../src/p9/messages.js';

self.onmessage = (e: MessageEvent<{ endpoint: ChannelEndpoint; files: number }>) => {
  const c = new SyncP9Client(new SyncChannelClient(e.data.endpoint));
  const out: Record<string, unknown> = {};
  try {
    out.version = c.version().version;
    c.rpc(MessageType.Tattach, { fid: 1, afid: NOFID, uname: 'root', aname: '', nUname: 0 });
    for (let i = 0; i < e.data.files; i++) {
      c.rpc(MessageType.Twalk, { fid: 1, newfid: 2, names: [] });
      c.rpc(MessageType.Tlcreate, { fid: 2, name: `sync-${i}`, flags: OpenFlag.ReadWrite, mode: 0o644, gid: 0 });
      c.rpc(MessageType.Twrite, { fid: 2, offset: 0, data: new TextEncoder().encode(`written synchronously ${i}`) });
      const dest = new Uint8Array(64);
      const n = c.readInto(2, 0, dest);
      out[`read-${i}`] = new TextDecoder().decode(dest.subarray(0, n));
      c.rpc(MessageType.Tclunk, { fid: 2 });
    }
    try {
      c.rpc(MessageType.Twalk, { fid: 1, newfid: 3, names: ['missing'] });
    } catch (err) {
      out.missing = err instanceof FsError ? err.code : String(err);
    }
  } catch (err) {
    out.failure = String(err);
  }
  self.postMessage(out);
};
