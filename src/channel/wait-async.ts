// Atomics.waitAsync where the browser has it (Chromium; Firefox from 145), and a fallback where it
// does not (Firefox ESR 140, Safari before 16.4): a small helper worker blocks in Atomics.wait for
// the caller and posts the outcome back. Helpers are kept in a pool, one per wait in flight, and
// reused, so a steady stream of waits costs two postMessage hops each and no new workers.

export type AsyncWait =
  | { async: false; value: 'not-equal' | 'timed-out' }
  | { async: true; value: Promise<'ok' | 'timed-out'> };

type NativeWaitAsync = (view: Int32Array, index: number, value: number, timeout?: number) => AsyncWait;
const native = (Atomics as unknown as { waitAsync?: NativeWaitAsync }).waitAsync?.bind(Atomics) ?? null;

/** Whether waits go through helper workers (reported by benchmarks beside their figures). */
export const waitAsyncFallback = native === null;

/**
 * Same contract as `Atomics.waitAsync(view, index, value, timeoutMs)`: settles with 'ok' once woken
 * by Atomics.notify, 'timed-out' after `timeoutMs`; answers at once when the word is not `value`.
 */
export function waitAsync(view: Int32Array, index: number, value: number, timeoutMs = Infinity): AsyncWait {
  if (native) return native(view, index, value, timeoutMs);
  if (Atomics.load(view, index) !== value) return { async: false, value: 'not-equal' };
  if (timeoutMs <= 0) return { async: false, value: 'timed-out' };
  return { async: true, value: helpers.wait(view, index, value, timeoutMs) };
}

// The helper's whole program. A blob: URL, so it needs no file of its own beside the element and
// inherits the page's cross-origin isolation (Atomics.wait needs a shared buffer).
const HELPER_SOURCE = `onmessage = (e) => {
  const { view, index, value, timeout } = e.data;
  postMessage(Atomics.wait(view, index, value, timeout));
};`;

class WaitHelpers {
  private url: string | null = null;
  private readonly idle: Worker[] = [];
  /**
   * Helpers blocked in a wait. Referenced here because a Worker object that nothing references
   * may be collected, and its worker with it (Firefox did, a few hundred waits in): the answer
   * would never come and the caller would wait forever.
   */
  private readonly busy = new Set<Worker>();

  wait(view: Int32Array, index: number, value: number, timeout: number): Promise<'ok' | 'timed-out'> {
    const helper = this.idle.pop() ?? this.spawn();
    this.busy.add(helper);
    return new Promise((resolve, reject) => {
      helper.onmessage = (e: MessageEvent<'ok' | 'not-equal' | 'timed-out'>) => {
        this.busy.delete(helper);
        this.idle.push(helper);
        // 'not-equal': the word changed between our check and the helper's wait, as good as a wake-up.
        resolve(e.data === 'timed-out' ? 'timed-out' : 'ok');
      };
      helper.onerror = (e) => {
        e.preventDefault();
        this.busy.delete(helper);
        helper.terminate();
        reject(new Error(`the Atomics.waitAsync helper worker failed: ${e.message || 'it could not start'}`));
      };
      helper.postMessage({ view, index, value, timeout });
    });
  }

  private spawn(): Worker {
    this.url ??= URL.createObjectURL(new Blob([HELPER_SOURCE], { type: 'text/javascript' }));
    return new Worker(this.url, { name: 'container-vm wait helper' });
  }
}

const helpers = new WaitHelpers();
