// Runs in a module worker: drives the storage worker with the blocking client, as S1 will.

import { ChannelEndpoint } from '../../../src/channel/layout.js';
import { SyncChannelClient } from '../../../src/channel/sync-client.js';
import { SyncP9Client } from '../../../src/client/client.js';
import { FsError } from '../../../src/wire/errno.js';
import { MessageType, NOFID, OpenFlag } from '../../../src/wire/messages.js';
import { decodeMessage, encodeMessage } from '../../../src/wire/codec.js';

self.onmessage = (e: MessageEvent<{ endpoint: ChannelEndpoint; files: number }>) => {
  const channel = new SyncChannelClient(e.data.endpoint);
  const c = new SyncP9Client(channel);
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
    if (channel.batchSize > 0) {
      // Walks to every file and to a missing name at once, each on its own slot; then too many.
      const names = [...Array.from({ length: Math.min(e.data.files, channel.batchSize - 1) }, (_, i) => `sync-${i}`), 'missing'];
      out.batch = channel.batch(names.map((name, i) => (o: Uint8Array) => encodeMessage(MessageType.Twalk, i + 1, { fid: 1, newfid: 10 + i, names: [name] }, o).length),
        (reply, i) => `${names[i]}:${decodeMessage(reply).type === MessageType.Rlerror ? 'error' : 'walked'}`);
      try {
        channel.batch(Array.from({ length: channel.batchSize + 1 }, () => () => 0), () => null);
      } catch (err) {
        out.tooMany = err instanceof RangeError ? 'RangeError' : String(err);
      }
    }
  } catch (err) {
    out.failure = String(err);
  }
  self.postMessage(out);
};
