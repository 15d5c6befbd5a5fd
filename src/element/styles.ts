// The element's look: a dark and a light theme (the page's prefers-color-scheme, or the `theme`
// attribute), every colour and the font overridable with --container-vm-* custom properties, which
// apply live (terminal.ts watches the computed values through the theme probe below).

import { css, unsafeCSS } from 'lit';
import { xtermCss } from './xterm-styles.js';

const dark = css`
  --_background: #1e1e1e;
  --_foreground: #d4d4d4;
  --_cursor: #d4d4d4;
  --_selection: #264f78;
  --_status-background: #2b2b2b;
  --_error-background: #5a1d1d;
  --_error-foreground: #ffd7d7;
  --_accent: #4fc1ff;
`;

const light = css`
  --_background: #ffffff;
  --_foreground: #1f1f1f;
  --_cursor: #1f1f1f;
  --_selection: #add6ff;
  --_status-background: #ececec;
  --_error-background: #fde7e9;
  --_error-foreground: #8a1c1c;
  --_accent: #005fb8;
`;

export const elementStyles = [
  unsafeCSS(xtermCss),
  css`
    :host {
      ${dark}
      display: flex;
      flex-direction: column;
      position: relative;
      min-height: 16rem;
      height: 24rem;
      background: var(--container-vm-background, var(--_background));
      color: var(--container-vm-foreground, var(--_foreground));
      border-radius: 6px;
      overflow: hidden;
      contain: content;
    }
    @media (prefers-color-scheme: light) {
      :host(:not([theme='dark'])) { ${light} }
    }
    :host([theme='light']) { ${light} }
    :host([hidden]) { display: none; }

    [part='terminal'] { flex: 1; min-height: 0; padding: 4px 0 0 6px; }
    /* xterm's stylesheet paints its viewport black; the theme's background goes there instead. */
    [part='terminal'] .xterm .xterm-viewport { background-color: var(--container-vm-background, var(--_background)); }
    [part='status'] {
      display: flex; align-items: center; gap: 0.75em;
      font: 12px/1.6 system-ui, sans-serif; padding: 2px 8px;
      background: var(--container-vm-status-background, var(--_status-background));
    }
    [part='status'].error {
      background: var(--container-vm-error-background, var(--_error-background));
      color: var(--container-vm-error-foreground, var(--_error-foreground));
    }
    :host([dropping]) [part='terminal'] {
      outline: 2px dashed var(--container-vm-cursor, var(--_accent));
      outline-offset: -6px;
    }
    progress { flex: 0 0 8em; height: 0.6em; }
    [part='usage'] { margin-left: auto; opacity: 0.8; white-space: nowrap; }

    [part='start'] {
      position: absolute; inset: 0 0 auto 0; bottom: 1.6em;
      margin: auto; width: max-content; height: max-content;
      font: 600 15px/1 system-ui, sans-serif; padding: 0.7em 1.4em;
      color: var(--container-vm-background, var(--_background));
      background: var(--container-vm-foreground, var(--_foreground));
      border: 0; border-radius: 6px; cursor: pointer;
    }
    [part='start']:focus-visible { outline: 3px solid var(--container-vm-cursor, var(--_accent)); outline-offset: 2px; }

    /* The computed theme, read by the terminal: each custom property resolved onto a property
       the browser computes, with a short transition so that a change fires transitionend. */
    .theme-probe {
      position: absolute; width: 0; height: 0; overflow: hidden; visibility: hidden; pointer-events: none;
      color: var(--container-vm-foreground, var(--_foreground));
      background-color: var(--container-vm-background, var(--_background));
      border: 0 solid;
      border-top-color: var(--container-vm-cursor, var(--_cursor));
      border-bottom-color: var(--container-vm-selection, var(--_selection));
      font-family: var(--container-vm-font-family, ui-monospace, 'DejaVu Sans Mono', Menlo, Consolas, monospace);
      font-size: calc(var(--container-vm-font-size, 14) * 1px);
      transition: all 1ms;
      transition-behavior: allow-discrete;
    }
  `,
];
