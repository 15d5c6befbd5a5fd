// happy-opfs's sync agent: answers the synchronous calls of the WASI benchmark's happy-opfs adapter.
import { SyncChannel } from 'happy-opfs';

SyncChannel.listen().unwrap();
