// The channel's slot handshake and SpinPolicy on their own, without a browser: node has
// SharedArrayBuffer, Atomics.wait (even on its main thread) and Atomics.waitAsync.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { connectionBytes } from '../../src/channel/layout.js';
import { SlotState, SpinPolicy, slotsOf } from '../../src/channel/slot.js';

function connection(slots: number, slotBytes = 64) {
  return { connection: new SharedArrayBuffer(connectionBytes(slots, slotBytes)), slots, slotBytes };
}

test('a slot goes request, take, respond, reply, release', () => {
  const [slot] = slotsOf(connection(1));
  assert.equal(slot!.state, SlotState.Idle);
  slot!.data.set([1, 2, 3]);
  slot!.request(3);
  assert.equal(slot!.requested, true);
  assert.deepEqual([...slot!.take()!], [1, 2, 3]);
  assert.equal(slot!.state, SlotState.Busy);
  assert.equal(slot!.answered, false);
  slot!.data.set([9, 8]);
  slot!.respond(2);
  assert.equal(slot!.answered, true);
  assert.equal(slot!.wait(), true);
  assert.deepEqual([...slot!.reply()!], [9, 8]);
  slot!.release();
  assert.equal(slot!.state, SlotState.Idle);
});

test('slots of one connection are apart, and a length that cannot be is no request', () => {
  const slots = slotsOf(connection(3));
  slots.forEach((s, i) => s.data.fill(i + 1));
  assert.deepEqual(slots.map((s) => s.data[63]), [1, 2, 3]);
  slots[1]!.request(65);
  assert.equal(slots[1]!.take(), null);
  slots[1]!.respond(0);
  assert.equal(slots[1]!.reply(), null, 'no answer could be made');
});

test('wait gives up after its timeout; waitAsync resolves once answered', async () => {
  const [slot] = slotsOf(connection(1));
  slot!.request(1);
  const t0 = performance.now();
  assert.equal(slot!.wait(null, 20), false);
  assert.ok(performance.now() - t0 >= 19);
  setTimeout(() => slot!.respond(1), 10);
  await slot!.waitAsync();
  assert.equal(slot!.answered, true);
});

test('a client blocked in wait() is woken by a server on another thread', async () => {
  const conn = connection(1);
  const [slot] = slotsOf(conn);
  // The server, with the same Slot: answers with the request's bytes reversed.
  const server = new Worker(`
    const { workerData } = require('node:worker_threads');
    import(workerData.module).then(({ slotsOf }) => {
      const [slot] = slotsOf(workerData.conn);
      while (!slot.requested) Atomics.wait(slot.control, 0, 0);
      const request = slot.take();
      slot.data.set(request.slice().reverse());
      slot.respond(request.length);
    });
  `, { eval: true, workerData: { conn, module: new URL('../../src/channel/slot.js', import.meta.url).href } });
  try {
    slot!.data.set([1, 2, 3, 4]);
    slot!.request(4);
    // The storage worker waits on the doorbell; this one waits on the slot's state word.
    Atomics.notify(slot!.control, 0);
    assert.equal(slot!.wait(new SpinPolicy(0.05)), true);
    assert.deepEqual([...slot!.reply()!], [4, 3, 2, 1]);
    slot!.release();
  } finally {
    await server.terminate();
  }
});

test('SpinPolicy: a hit polls again next time; each miss doubles the calls that skip polling, up to 64', () => {
  const spin = new SpinPolicy(0.2);
  let asked = 0;
  const never = () => { asked++; return false; };
  assert.equal(spin.poll(() => true), true);
  assert.equal(spin.poll(never), false);
  assert.ok(asked > 0, 'polled for the window');
  // Misses in a row: after each, that many calls (1, 2, 4, ... 64) return at once without asking.
  const skipped: number[] = [];
  for (let miss = 0; miss < 8; miss++) {
    let n = 0;
    for (;;) {
      asked = 0;
      spin.poll(never);
      if (asked > 0) break;
      n++;
    }
    skipped.push(n);
  }
  assert.deepEqual(skipped, [1, 2, 4, 8, 16, 32, 64, 64]);
  // A hit resets the back-off: the next miss skips one call only.
  for (let n = 0; n < 64; n++) spin.poll(never);
  assert.equal(spin.poll(() => true), true);
  const polls = Array.from({ length: 3 }, () => {
    asked = 0;
    spin.poll(never);
    return asked > 0;
  });
  assert.deepEqual(polls, [true, false, true]);
});
