#!/usr/bin/env node
// Checks every internal link of the built site: each href/src of every page VitePress wrote
// (the API reference is left to TypeDoc, which validates its own links) must name a file of the
// output, and each #anchor into a page must name an id of that page.
// Usage: node scripts/check-links.mjs [outDir]; exit 0 when all resolve, 1 listing the others.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ATTR_RE = /\s(?:href|src)="([^"]*)"/g;
const ID_RE = /\sid="([^"]*)"/g;

/** Decodes the entities VitePress writes in attribute values. */
function decodeEntities(text) {
  return text
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/** Every .html file under dir, skipping the folders given (relative to the output root). */
function htmlFiles(root, dir, skip) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (skip.has(relative(root, path))) continue;
    if (statSync(path).isDirectory()) out.push(...htmlFiles(root, path, skip));
    else if (name.endsWith('.html')) out.push(path);
  }
  return out;
}

/** Checks the site in outDir; returns the broken links, one line each. */
export function checkLinks(outDir) {
  const ids = new Map();
  const idsOf = (file) => {
    let found = ids.get(file);
    if (!found) {
      found = new Set();
      for (const m of readFileSync(file, 'utf8').matchAll(ID_RE)) found.add(decodeEntities(m[1]));
      ids.set(file, found);
    }
    return found;
  };
  const broken = [];
  const pages = htmlFiles(outDir, outDir, new Set(['api', 'vendor', 'files']));
  for (const page of pages) {
    const base = `/${relative(outDir, page).split('\\').join('/')}`;
    for (const m of readFileSync(page, 'utf8').matchAll(ATTR_RE)) {
      const raw = decodeEntities(m[1]);
      if (raw === '' || /^[a-z][a-z0-9+.-]*:/i.test(raw) || raw.startsWith('//')) continue;
      const url = new URL(raw, `http://site${base}`);
      let path;
      try {
        path = decodeURIComponent(url.pathname);
      } catch {
        broken.push(`${base}: ${raw} (undecodable)`);
        continue;
      }
      let file = join(outDir, path);
      if (path.endsWith('/')) file = join(file, 'index.html');
      if (!existsSync(file) || statSync(file).isDirectory()) {
        broken.push(`${base}: ${raw} (no file ${relative(outDir, file)})`);
        continue;
      }
      const hash = decodeURIComponent(url.hash.slice(1));
      if (hash && file.endsWith('.html') && !idsOf(file).has(hash)) {
        broken.push(`${base}: ${raw} (no id "${hash}" in ${relative(outDir, file)})`);
      }
    }
  }
  return { pages: pages.length, broken };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outDir = resolve(
    process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '../.vitepress/dist'),
  );
  const { pages, broken } = checkLinks(outDir);
  for (const line of broken) console.error(`broken link: ${line}`);
  console.log(`${pages} pages checked, ${broken.length} broken link(s)`);
  process.exit(broken.length === 0 ? 0 : 1);
}
