import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newProfileDir, openHarness, removeProfileDir, startServer } from './support/browser.js';
import type { Harness } from '../browser/pages/harness.js';

declare const harness: Harness;

test('the harness page reaches the share', async () => {
  const server = await startServer();
  const profile = newProfileDir();
  const b = await openHarness(profile, server);
  try {
    await b.page.evaluate(async () => {
      await harness.open('/node-smoke');
      await harness.writeFile('a.txt', btoa('hello'));
    });
    const back = await b.page.evaluate(() => harness.readFile('a.txt'));
    assert.equal(Buffer.from(back as string, 'base64').toString(), 'hello');
  } finally {
    await b.close();
    await server.stop();
    removeProfileDir(profile);
  }
});
