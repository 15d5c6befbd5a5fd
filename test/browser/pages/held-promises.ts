// Harness objects that node tests call through puppeteer's page.evaluate.
//
// The DevTools protocol holds a promise that page.evaluate awaits only weakly. On Chromium 150, a
// harness promise that settled in the same task as <container-vm>'s first render (xterm set up in
// its shadow root) was reported "Promise was collected" although it had resolved, failing tests at
// random on 150 and never on 156. So every promise a harness method returns is kept reachable from
// the page until it has settled and the protocol has had a task to take its value.

const held = new Set<Promise<unknown>>();

function hold<T>(promise: Promise<T>): Promise<T> {
  held.add(promise);
  const release = () => setTimeout(() => held.delete(promise), 0);
  promise.then(release, release);
  return promise;
}

/** Publishes `api` as globalThis[name], each method's returned promise held until it settles. */
export function exposeHarness<T extends object>(name: string, api: T): T {
  const wrapped = Object.fromEntries(Object.entries(api).map(([key, value]) => [
    key,
    typeof value === 'function'
      ? (...args: unknown[]) => {
          const result = (value as (...a: unknown[]) => unknown).apply(api, args);
          return result instanceof Promise ? hold(result) : result;
        }
      : value,
  ])) as T;
  (globalThis as Record<string, unknown>)[name] = wrapped;
  return wrapped;
}
