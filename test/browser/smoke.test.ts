import { expect } from 'chai';
import { StorageHost } from '../../src/channel/storage-host.js';
import { ShareFs } from '../../src/p9/share-fs.js';

describe('smoke', () => {
  it('writes and reads a file through the storage worker', async () => {
    const host = await StorageHost.start({ root: '/smoke' });
    const fs = await ShareFs.connect(await host.connect());
    await fs.writeFile('hello.txt', 'hi there');
    expect(await fs.readText('hello.txt')).to.equal('hi there');
    await fs.mkdir('d');
    await fs.writeFile('d/x', 'x');
    await fs.rename('d', 'e');
    expect(await fs.readText('e/x')).to.equal('x');
    const names = (await fs.readDir('')).map((e) => e.name).sort();
    expect(names).to.deep.equal(['e', 'hello.txt']);
    await host.close();
  });
});
