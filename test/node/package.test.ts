// The package as a user gets it from npm: `npm pack`, installed into a new project, imported by
// its bare name from a page bundled with rollup, type-checked with its own types, and the element
// booting the guest with its workers copied beside the bundle (asset-base).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeResolve } from '@rollup/plugin-node-resolve';
import { rollup } from 'rollup';
import { launch, newProfileDir, removeProfileDir, startServer } from './support/browser.js';

const repo = new URL('../../../', import.meta.url).pathname;
const run = (cmd: string, args: string[], cwd: string) => execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

test('npm pack, installed in a project, bundled by its bare name, type-checked, boots the guest', { timeout: 400000 }, async () => {
  assert.ok(existsSync(`${repo}dist/container-vm.js`), 'dist/ is missing: npm test builds it with npm run build');
  const work = mkdtempSync(join(tmpdir(), 'container-vm-package-'));
  const profile = newProfileDir();
  try {
    // The tarball holds what a user needs, nothing of the repository's own.
    const tarball = join(work, run('npm', ['pack', '--silent', '--pack-destination', work], repo).trim().split('\n').pop()!);
    const files = run('tar', ['-tzf', tarball], work).trim().split('\n').map((f) => f.replace(/^package\//, ''));
    for (const f of ['package.json', 'README.md', 'LICENSE', 'custom-elements.json', 'dist/container-vm.js', 'dist/index.js',
      'dist/storage-worker.js', 'dist/v86-worker.js', 'dist/v86.wasm', 'dist/l1.wasm', 'dist/container-vm-sw.js', 'dist/types/container-vm.d.ts']) {
      assert.ok(files.includes(f), `the package has no ${f}`);
    }
    const stray = files.filter((f) => !/^(package\.json|README\.md|LICENSE|custom-elements\.json|dist\/)/.test(f));
    assert.deepEqual(stray, [], 'files a user does not need are in the package');

    const app = join(work, 'app');
    mkdirSync(join(app, 'src'), { recursive: true });
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball], app);

    // Types: the element, its events and its fs, and the library entry, as a strict TypeScript user sees them.
    writeFileSync(join(app, 'src', 'check.ts'), [
      "import { ContainerVm, type ErrorDetail } from 'container-vm';",
      "import { StorageHost } from 'container-vm/lib';",
      "const vm: ContainerVm = document.createElement('container-vm');",
      "vm.addEventListener('error', (e) => { const d: ErrorDetail = e.detail; console.log(d.code, d.message); });",
      "vm.addEventListener('progress', (e) => console.log(e.detail.loaded / e.detail.total));",
      "const text: Promise<string> = vm.fs.readText('notes.txt');",
      "const host: Promise<StorageHost> = StorageHost.start({ root: '/x' });",
      'console.log(text, host, vm.state === "running");',
    ].join('\n'));
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { strict: true, noEmit: true, module: 'esnext', moduleResolution: 'bundler', target: 'es2022', lib: ['es2022', 'dom', 'dom.iterable'], types: [] },
      files: ['src/check.ts'],
    }));
    try {
      run(process.execPath, [join(repo, 'node_modules/typescript/bin/tsc'), '-p', app], app);
    } catch (e) {
      assert.fail(`the package's types do not check: ${(e as { stdout?: string }).stdout}`);
    }

    // A page bundled by rollup from `import 'container-vm'`; the workers and wasm stay files,
    // copied beside it as the README says, and found through asset-base.
    writeFileSync(join(app, 'src', 'main.js'), [
      "import { ContainerVm } from 'container-vm';",
      'const events = [];',
      "const vm = document.querySelector('container-vm');",
      "for (const type of ['opfs-ready', 'vm-ready', 'error']) vm.addEventListener(type, (e) => events.push({ type, detail: e.detail }));",
      "window.app = { events, defined: customElements.get('container-vm') === ContainerVm, vm };",
    ].join('\n'));
    const out = join(app, 'out');
    const bundle = await rollup({ input: join(app, 'src', 'main.js'), plugins: [nodeResolve({ browser: true, rootDir: app })] });
    await bundle.write({ file: join(out, 'main.js'), format: 'es', inlineDynamicImports: true });
    await bundle.close();
    cpSync(join(app, 'node_modules', 'container-vm', 'dist'), join(out, 'container-vm'), { recursive: true });
    cpSync(join(repo, 'guest', 'out'), join(out, 'guest'), { recursive: true });
    writeFileSync(join(out, 'index.html'), [
      '<!doctype html><meta charset="utf-8"><title>app</title>',
      '<container-vm src="guest/manifest.json" asset-base="container-vm/" opfs-root="/package-test" style="width:800px;height:400px"></container-vm>',
      '<script type="module" src="main.js"></script>',
    ].join('\n'));
    assert.ok(!readFileSync(join(out, 'main.js'), 'utf8').includes("from 'container-vm'"), 'the bundle still imports the package');

    const server = await startServer({ rootDir: out });
    try {
      const b = await launch(profile, `${server.origin}/index.html`);
      try {
        await b.page.waitForFunction('globalThis.app !== undefined', { timeout: 30000 });
        assert.equal(await b.page.evaluate('app.defined'), true);
        await b.page.waitForFunction('app.events.some((e) => e.type === "vm-ready" || e.type === "error")', { timeout: 180000, polling: 200 });
        const events = await b.page.evaluate('app.events') as { type: string }[];
        assert.deepEqual(events.map((e) => e.type), ['opfs-ready', 'vm-ready'], JSON.stringify(events));
      } finally {
        await b.close();
      }
    } finally {
      await server.stop();
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
    removeProfileDir(profile);
  }
});
