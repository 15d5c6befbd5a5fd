// The demo page: a small file browser on the share, through the storage worker.

import { StorageHost } from '../src/channel/storage-host.js';
import { ShareFs } from '../src/p9/share-fs.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const status = $('status');

function show(message: string, isError = false): void {
  status.textContent = message;
  status.classList.toggle('error', isError);
}

async function main(): Promise<void> {
  const host = await StorageHost.start({ root: '/shared' });
  const fs = await ShareFs.connect(await host.connect());
  show('The share /shared is open.');

  async function refresh(): Promise<void> {
    const rows = $('files');
    rows.replaceChildren();
    const entries = (await fs.readDir('')).sort((a, b) => a.name.localeCompare(b.name));
    for (const e of entries) {
      const st = await fs.stat(e.name);
      const tr = document.createElement('tr');
      for (const cell of [e.name, e.type, (st.mode & 0o7777).toString(8), String(st.size), new Date(st.mtimeMs).toLocaleString()]) {
        const td = document.createElement('td');
        td.textContent = cell;
        tr.append(td);
      }
      const del = document.createElement('button');
      del.textContent = 'Delete';
      del.onclick = () => fs.remove(e.name, { recursive: true }).then(refresh, (err) => show(String(err), true));
      const open = document.createElement('button');
      open.textContent = 'Open';
      open.disabled = e.type !== 'file';
      open.onclick = async () => {
        ($('name') as HTMLInputElement).value = e.name;
        ($('content') as HTMLTextAreaElement).value = await fs.readText(e.name);
      };
      const td = document.createElement('td');
      td.append(open, del);
      tr.append(td);
      rows.append(tr);
    }
    if (!entries.length) rows.innerHTML = '<tr><td colspan="6">(empty)</td></tr>';
  }

  $('save').onclick = async () => {
    const name = ($('name') as HTMLInputElement).value.trim();
    if (!name) return show('Give the file a name.', true);
    try {
      await fs.writeFile(name, ($('content') as HTMLTextAreaElement).value);
      show(`Saved ${name}. Reload the page: it stays.`);
      await refresh();
    } catch (err) {
      show(String(err), true);
    }
  };
  await refresh();
}

main().catch((err) => show(`${err instanceof Error ? err.message : err}`, true));
