// The README's tables of the element's attributes, events and methods must keep up with the
// element: every one that custom-elements.json lists (which manifest.test.ts keeps in step with
// the source) has its row or its mention in README.md.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

const repo = new URL('../../../', import.meta.url).pathname;

interface Member { name: string; kind: string; privacy?: string; static?: boolean }
interface Declaration { customElement?: boolean; name: string; attributes?: { name: string }[]; events?: { name: string }[]; members?: Member[] }

test('README.md documents every attribute, event, method and property of <container-vm>', () => {
  const manifest = JSON.parse(readFileSync(`${repo}custom-elements.json`, 'utf8')) as { modules: { declarations?: Declaration[] }[] };
  const element = manifest.modules.flatMap((m) => m.declarations ?? []).find((d) => d.customElement);
  assert.ok(element, 'custom-elements.json has no custom element');
  const readme = readFileSync(`${repo}README.md`, 'utf8');
  const rows = readme.split('\n').filter((l) => l.startsWith('| `'));
  const missing: string[] = [];
  for (const a of element.attributes ?? []) if (!rows.some((r) => r.startsWith(`| \`${a.name}\``))) missing.push(`attribute ${a.name}`);
  for (const e of element.events ?? []) if (!rows.some((r) => r.startsWith(`| \`${e.name}\``))) missing.push(`event ${e.name}`);
  for (const m of element.members ?? []) {
    if (m.static || (m.privacy && m.privacy !== 'public')) continue;
    if (m.kind === 'method' && !readme.includes(`\`${m.name}(`)) missing.push(`method ${m.name}()`);
    if (m.kind === 'field' && !readme.includes(`\`${m.name}`)) missing.push(`property ${m.name}`);
  }
  assert.deepEqual(missing, [], 'add these to the element tables in README.md');
});
