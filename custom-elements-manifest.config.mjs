// `npm run manifest` (part of `npm run build`) writes custom-elements.json from the element's
// source: attributes, properties, events, parts and CSS properties come from its JSDoc and lit
// declarations. test/node/manifest.test.ts writes a fresh one elsewhere (CEM_OUTDIR) to compare.
const checking = Boolean(process.env.CEM_OUTDIR);

export default {
  globs: ['src/element/container-vm.ts'],
  outdir: process.env.CEM_OUTDIR ?? '.',
  litelement: true,
  packagejson: !checking,
};
