// The browser tests' link check and static server, on a small hand-made build: each kind of broken
// reference is reported, and nothing else (so a green crawl means something).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkLinks, htmlPages, pagesToLoad, readStatic, unreachable } from './browser/crawl.ts';
import { resolveInDist, type StaticServer, serveDist, siteBase } from './browser/site.ts';

const SITE = 'http://127.0.0.1:9/docs/';
let dist: string;

/** Writes a file of the fake build. */
function put(path: string, text: string): void {
  const file = join(dist, path);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
}

beforeAll(() => {
  dist = mkdtempSync(join(tmpdir(), 'hmmsim-crawl-'));
  put(
    'index.html',
    `<html><head><script type="module" src="/docs/assets/app.js"></script></head><body>
    <a href="/docs/guide/">guide</a>
    <a href="/docs/guide/a.html#second">anchor that exists</a>
    <a href="/docs/guide/a.html#nope">anchor that does not</a>
    <a href="/docs/guide/missing.html">missing page</a>
    <a href="/elsewhere/x.html">outside the base</a>
    <a href="https://example.org/">another site</a>
    <a href="mailto:someone@example.org">mail</a>
    <img src="/docs/files/chart.svg"><img src="/docs/files/gone.svg">
    <a href="guide/a.html?x=1&amp;y=2">relative, with a query</a>
    </body></html>`,
  );
  put('assets/app.js', '');
  put('files/chart.svg', '<svg/>');
  put('guide/index.html', '<h1 id="guide">Guide</h1><a href="a.html">a</a>');
  put('guide/a.html', '<h1 id="a">A</h1><h2 id="second">Second</h2><a href="../">home</a>');
  put('orphan.html', '<h1>Nobody links here</h1><a href="/docs/">home</a>');
  put('404.html', '<h1>Not found</h1>');
});

afterAll(() => {
  rmSync(dist, { recursive: true, force: true });
});

describe('the crawl checks', () => {
  it('resolves paths the way the preview server and static hosts do', () => {
    expect(resolveInDist(dist, '/')).toBe(join(dist, 'index.html'));
    expect(resolveInDist(dist, '/guide/')).toBe(join(dist, 'guide/index.html'));
    expect(resolveInDist(dist, '/guide')).toBe(join(dist, 'guide/index.html'));
    expect(resolveInDist(dist, '/guide/a')).toBe(join(dist, 'guide/a.html'));
    expect(resolveInDist(dist, '/guide/a.html')).toBe(join(dist, 'guide/a.html'));
    expect(resolveInDist(dist, '/guide/b.html')).toBeUndefined();
    expect(resolveInDist(dist, '/../../etc/passwd')).toBeUndefined();
    expect(siteBase(dist)).toBe('/docs/');
  });

  it('reports each broken link, image and anchor, and nothing that resolves', () => {
    const pages = htmlPages(dist).map((f) => readStatic(dist, SITE, f));
    const { broken, external } = checkLinks(dist, SITE, pages);
    expect(broken.map((b) => `${b.from} -> ${b.href}: ${b.why}`).sort()).toEqual([
      'index.html -> http://127.0.0.1:9/docs/files/gone.svg: no such page or file in the build',
      'index.html -> http://127.0.0.1:9/docs/guide/a.html#nope: no anchor #nope on guide/a.html',
      'index.html -> http://127.0.0.1:9/docs/guide/missing.html: no such page or file in the build',
      "index.html -> http://127.0.0.1:9/elsewhere/x.html: outside the site's base /docs/",
    ]);
    expect(external).toBe(2);
  });

  it('finds the pages no chain of links from the home page reaches', () => {
    const pages = htmlPages(dist).map((f) => readStatic(dist, SITE, f));
    expect(unreachable(dist, SITE, pages)).toEqual(['orphan.html']);
  });

  it('loads every site page and a spread of the API reference', () => {
    const api = Array.from(
      { length: 100 },
      (_, i) => `api/functions/f${String(i).padStart(3, '0')}.html`,
    );
    const files = [
      'index.html',
      'guide/a.html',
      'api/index.html',
      'api/modules/kernel.html',
      ...api,
    ];
    const chosen = pagesToLoad(files, 10, false);
    expect(chosen.slice(0, 4)).toEqual([
      'index.html',
      'guide/a.html',
      'api/index.html',
      'api/modules/kernel.html',
    ]);
    expect(chosen.length).toBe(14);
    expect(chosen).toContain('api/functions/f000.html');
    expect(chosen).toContain('api/functions/f090.html');
    expect(pagesToLoad(files, 10, true)).toEqual(files);
  });
});

describe('the static server', () => {
  let server: StaticServer;
  beforeAll(async () => {
    server = await serveDist(dist);
  });
  afterAll(async () => {
    await server.close();
  });

  it('serves the build under its base, and the 404 page with status 404 elsewhere', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/docs\/$/);
    const page = await fetch(new URL('guide/a', server.url));
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(await page.text()).toMatch(/id="second"/);
    const svg = await fetch(new URL('files/chart.svg', server.url));
    expect(svg.headers.get('content-type')).toBe('image/svg+xml');
    const missing = await fetch(new URL('nope.html', server.url));
    expect(missing.status).toBe(404);
    expect(await missing.text()).toMatch(/Not found/);
    const outside = await fetch(new URL('/index.html', server.origin));
    expect(outside.status).toBe(404);
  });
});
