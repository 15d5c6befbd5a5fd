// Starting the element's module workers from wherever its files are served.
//
// A page may load container-vm.js from another origin (a CDN, an npm CDN, a static-assets host).
// Browsers refuse `new Worker(url)` for a script of another origin, so for those the worker is a
// same-origin blob: module whose one line imports the real worker script. The import is a CORS
// request, and the page is cross-origin isolated (require-corp), so that origin must send
// `Access-Control-Allow-Origin` (and, for v86.wasm and l1.wasm fetched without CORS,
// `Cross-Origin-Resource-Policy: cross-origin`), as public CDNs do.

import { VmError } from './errors.js';

export function startModuleWorker(url: URL, name: string): Worker {
  if (url.origin === location.origin) return new Worker(url, { type: 'module', name });
  const loader = URL.createObjectURL(new Blob([`import ${JSON.stringify(url.href)};\n`], { type: 'text/javascript' }));
  const worker = new Worker(loader, { type: 'module', name });
  // The worker fetched its module as it started; the blob is no longer needed.
  setTimeout(() => URL.revokeObjectURL(loader), 60_000);
  return worker;
}

/**
 * Why a worker script could not be loaded, for the error event. A worker's `error` event says
 * nothing about the cause, so the script is fetched again the way the worker would have (with
 * CORS from another origin) and the answer named.
 */
export async function explainWorkerFailure(url: URL, what: string): Promise<VmError> {
  const crossOrigin = url.origin !== location.origin;
  const fix = crossOrigin
    ? `${url.origin} must send "Access-Control-Allow-Origin: *" (or this page's origin) and "Cross-Origin-Resource-Policy: cross-origin" ` +
      'with the element\'s files, or copy dist/ to this site and point the element\'s asset-base attribute at it'
    : 'check that dist/ (or the folder asset-base names) holds all of the element\'s files';
  let cause: string;
  try {
    const response = await fetch(url, { mode: crossOrigin ? 'cors' : 'same-origin', cache: 'no-store' });
    cause = response.ok
      ? `it was served (HTTP ${response.status}) but failed to start: one of the modules it imports may be missing or blocked`
      : `${url.href} answered HTTP ${response.status}`;
  } catch {
    cause = crossOrigin ? `${url.href} could not be fetched with CORS from this page` : `${url.href} could not be fetched`;
  }
  return new VmError('assets-unreachable', `The ${what} did not start: ${cause}. ${fix[0]!.toUpperCase()}${fix.slice(1)}.`);
}
