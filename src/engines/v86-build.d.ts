// Generated into build/src/engines/v86-build.js by scripts/build-assets.mjs from v86's package.json.
/** The v86 build the engine runs (its package version, with its git commit): a saved machine state is only sure to restore in it. */
export declare const v86Build: string;
