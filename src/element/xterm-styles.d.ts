// Generated into build/src/element/xterm-styles.js by scripts/build-assets.mjs from @xterm/xterm's CSS.
export declare const xtermCss: string;
