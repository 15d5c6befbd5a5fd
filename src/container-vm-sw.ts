// container-vm-sw.js: cross-origin isolation for hosts that cannot send headers (GitHub Pages,
// docs sites). The element needs SharedArrayBuffer, which browsers give only to pages served with
// "Cross-Origin-Opener-Policy: same-origin" and "Cross-Origin-Embedder-Policy: require-corp".
//
// One file, two roles:
// - loaded by the page as a classic <script src="container-vm-sw.js">, it registers itself as the
//   page's service worker and reloads the page once, when the worker has taken control;
// - running as that service worker, it adds the two headers (and Cross-Origin-Resource-Policy) to
//   every same-origin response, the page's own included, so the reloaded page is isolated.
//
// Put it in the page's folder (or above): a service worker only controls pages under its own folder.
// Cross-origin resources are passed through untouched; under require-corp they must send
// Cross-Origin-Resource-Policy (or CORS headers) themselves.

(() => {
  const RELOADED_KEY = 'container-vm-sw-reloaded';

  interface FetchEventLike extends Event {
    request: Request;
    respondWith(response: Promise<Response>): void;
  }
  interface ExtendableEventLike extends Event {
    waitUntil(p: Promise<unknown>): void;
  }
  interface ServiceWorkerScopeLike {
    location: Location;
    skipWaiting(): Promise<void>;
    clients: { claim(): Promise<void> };
    addEventListener(type: 'install' | 'activate', listener: (e: ExtendableEventLike) => void): void;
    addEventListener(type: 'fetch', listener: (e: FetchEventLike) => void): void;
  }

  function withIsolationHeaders(response: Response): Response {
    // Opaque and error responses cannot be rebuilt (and carry no body we may read).
    if (response.status === 0) return response;
    const headers = new Headers(response.headers);
    headers.set('Cross-Origin-Opener-Policy', 'same-origin');
    headers.set('Cross-Origin-Embedder-Policy', 'require-corp');
    headers.set('Cross-Origin-Resource-Policy', 'same-origin');
    return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
  }

  function serveAsWorker(sw: ServiceWorkerScopeLike): void {
    sw.addEventListener('install', () => { void sw.skipWaiting(); });
    sw.addEventListener('activate', (e) => e.waitUntil(sw.clients.claim()));
    sw.addEventListener('fetch', (e) => {
      const { request } = e;
      if (new URL(request.url).origin !== sw.location.origin) return;
      // A Chromium quirk: devtools' only-if-cached requests fail unless same-origin mode.
      if (request.cache === 'only-if-cached' && request.mode !== 'same-origin') return;
      e.respondWith(fetch(request).then(withIsolationHeaders));
    });
  }

  function registerFromPage(scriptUrl: string): void {
    if (window.crossOriginIsolated) {
      sessionStorage.removeItem(RELOADED_KEY);
      return;
    }
    if (!window.isSecureContext || !navigator.serviceWorker) return; // the element then explains what is missing
    // Reload once only: if the reloaded page is still not isolated, looping would not help.
    if (sessionStorage.getItem(RELOADED_KEY)) return;
    // While the reload is coming, the element waits instead of reporting the page as not isolated;
    // if it does not come, the element reports it (src/browser-support.ts, isolationReload()).
    let giveUp!: () => void;
    (window as { containerVmIsolationReload?: Promise<void> }).containerVmIsolationReload = new Promise<void>((resolve) => { giveUp = resolve; });
    const reload = () => {
      sessionStorage.setItem(RELOADED_KEY, '1');
      location.reload();
    };
    navigator.serviceWorker.register(scriptUrl).then((registration) => {
      if (!location.href.startsWith(registration.scope)) {
        console.error(`container-vm-sw: this page is outside the service worker's scope ${registration.scope}: ` +
          'put container-vm-sw.js in the page\'s folder or above it.');
        giveUp();
        return;
      }
      if (navigator.serviceWorker.controller) reload();
      else navigator.serviceWorker.addEventListener('controllerchange', reload);
    }, (e: unknown) => {
      console.error('container-vm-sw: could not register the service worker:', e);
      giveUp();
    });
  }

  if (typeof window === 'undefined') serveAsWorker(self as unknown as ServiceWorkerScopeLike);
  else registerFromPage((document.currentScript as HTMLScriptElement).src);
})();
