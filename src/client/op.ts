// The vocabulary of the 9P client core. A client operation is written once, as a generator that
// yields each request it sends and is resumed with the reply (or has the error thrown into it), so
// the blocking client (S1) and the asynchronous one (the page's `fs`) run the very same code: one
// drives it with Atomics.wait, the other with await.

import { Reply, Request, RequestType } from '../wire/messages.js';

/** One request of an operation. */
export type Step = { [T in RequestType]: { type: T; fields: Request<T> } }[RequestType];

/** An operation that sends requests and ends with an R. */
export type Op<R> = Generator<Step, R, unknown>;

/** Sends one request and returns its reply. */
export function* call<T extends RequestType>(type: T, fields: Request<T>): Op<Reply<T>> {
  // The drivers resume with the reply to this very request, its type checked (client.ts).
  return (yield { type, fields } as Step) as Reply<T>;
}

/** `op`, its result passed through `f`. */
export function* map<A, B>(op: Op<A>, f: (a: A) => B): Op<B> {
  return f(yield* op);
}

/** Runs `op` to its end, sending each request with `send` (which blocks). */
export function runBlocking<R>(op: Op<R>, send: (step: Step) => unknown): R {
  let next = op.next();
  while (!next.done) {
    let reply: unknown;
    try {
      reply = send(next.value);
    } catch (e) {
      next = op.throw(e);
      continue;
    }
    next = op.next(reply);
  }
  return next.value;
}

/** Runs `op` to its end, sending each request with `send` and awaiting its reply. */
export async function runAsync<R>(op: Op<R>, send: (step: Step) => Promise<unknown>): Promise<R> {
  let next = op.next();
  while (!next.done) {
    let reply: unknown;
    try {
      reply = await send(next.value);
    } catch (e) {
      next = op.throw(e);
      continue;
    }
    next = op.next(reply);
  }
  return next.value;
}

/** A session's fid numbers: one is taken for each new file and given back once the server let it go. */
export class FidTable {
  private next = 1;
  private readonly freed: number[] = [];

  take(): number { return this.freed.pop() ?? this.next++; }
  give(fid: number): void { this.freed.push(fid); }
}
