// Shared by the dev server, the test runner and the node-driven tests: every response carries
// COOP/COEP so pages and workers are cross-origin isolated (SharedArrayBuffer, Atomics.wait).
export const crossOriginIsolation = async (ctx, next) => {
  await next();
  ctx.set('Cross-Origin-Opener-Policy', 'same-origin');
  ctx.set('Cross-Origin-Embedder-Policy', 'require-corp');
  ctx.set('Cross-Origin-Resource-Policy', 'same-origin');
};

export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

// Flags that let Debian's Chromium run headless on a machine with no network.
export const chromiumFlags = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-dev-shm-usage',
];

export const firefoxPath = process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr';
