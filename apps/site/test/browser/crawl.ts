// The crawl of the built site: every page read from its HTML (links, images, scripts, styles and
// anchor targets), the pages chosen for Chromium loaded there (links and anchors as the browser
// sees them after hydration, and every problem it shows), and the checks over both.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { openWatchedPage, type PageProblem } from './browser.ts';
import { listFiles, resolveInDist } from './site.ts';

/** A reference from a page: where it points (absolute URL) and what it says. */
export interface Ref {
  readonly href: string;
  readonly text: string;
}

/** What a page links to and which anchors it offers. */
export interface PageLinks {
  /** The page's file in dist ('guide/index.html'). */
  readonly file: string;
  readonly url: string;
  /** Every id and <a name> (anchor targets). */
  readonly anchors: ReadonlySet<string>;
  /** Every href/src, absolute. */
  readonly refs: readonly Ref[];
}

/** A page loaded in Chromium. */
export interface VisitedPage extends PageLinks {
  readonly status: number;
  readonly title: string;
  readonly ms: number;
}

/** The URL a page file is served at: 'a/index.html' -> base + 'a/', 'a/b.html' -> base + 'a/b.html'. */
export function pageUrl(siteUrl: string, file: string): string {
  const path = file === 'index.html' ? '' : file.replace(/(^|\/)index\.html$/, '$1');
  return new URL(path, siteUrl).href;
}

/** Every HTML page of the build but the 404 page. */
export function htmlPages(dist: string): string[] {
  return listFiles(dist).filter((f) => f.endsWith('.html') && f !== '404.html');
}

/** The API reference's pages (TypeDoc output under api/). */
export function isApiPage(file: string): boolean {
  return file.startsWith('api/');
}

/**
 * The pages Chromium loads: every page of the site, and of the API reference (about 1,400 pages
 * from one TypeDoc template, each ~0.4 s to load) its entry pages, every module page, and an
 * even spread of `apiSample` of the rest — or all of them with `all`. Every page, loaded or not,
 * still has its links checked from its HTML.
 */
export function pagesToLoad(files: readonly string[], apiSample: number, all: boolean): string[] {
  if (all) return [...files];
  const site = files.filter((f) => !isApiPage(f));
  const api = files.filter(isApiPage);
  const entry = api.filter((f) => /^api\/(index|modules|hierarchy)\.html$|^api\/modules\//.test(f));
  const rest = api.filter((f) => !entry.includes(f));
  const step = Math.max(1, rest.length / Math.max(1, apiSample));
  const spread: string[] = [];
  for (let i = 0; i < rest.length && spread.length < apiSample; i += step) {
    spread.push(rest[Math.floor(i)] as string);
  }
  return [...site, ...entry, ...spread];
}

/** Decodes the entities the generators write in attribute values. */
function decodeEntities(text: string): string {
  return text
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&#x27;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/** Reads a page's references and anchors from its HTML as written. */
export function readStatic(dist: string, siteUrl: string, file: string): PageLinks {
  const html = readFileSync(join(dist, file), 'utf8');
  const url = pageUrl(siteUrl, file);
  const refs: Ref[] = [];
  for (const m of html.matchAll(/\s(?:href|src)="([^"]*)"/g)) {
    const raw = decodeEntities(m[1] ?? '');
    if (raw === '' || raw.startsWith('data:')) continue;
    let href: string;
    try {
      href = new URL(raw, url).href;
    } catch {
      href = raw;
    }
    refs.push({ href, text: `(html) ${raw.slice(0, 80)}` });
  }
  const anchors = new Set<string>();
  for (const m of html.matchAll(/\s(?:id|name)="([^"]*)"/g))
    anchors.add(decodeEntities(m[1] ?? ''));
  return { file, url, anchors, refs };
}

/** True for a page VitePress rendered (it mounts a Vue app on #app), false for static HTML. */
function isVitePressPage(page: Page): Promise<boolean> {
  return page.evaluate(() => document.querySelector('#app') !== null);
}

/** Opens url and waits until the page is loaded and, for a VitePress page, hydrated. */
export async function loadPage(page: Page, url: string): Promise<number> {
  const res = await page.goto(url, { waitUntil: 'load', timeout: 30_000 });
  if (await isVitePressPage(page)) {
    await page.waitForFunction(
      () => {
        const app = document.querySelector('#app') as (Element & { __vue_app__?: unknown }) | null;
        return app?.__vue_app__ !== undefined;
      },
      undefined,
      { timeout: 15_000 },
    );
  }
  // Let the frame that follows hydration (and its lazy chunks) run before the page is read.
  await page.evaluate(
    () => new Promise<void>((resolve) => requestAnimationFrame(() => setTimeout(resolve, 20))),
  );
  return res?.status() ?? 0;
}

/** Loads one page and reads its links and anchors from the live DOM. */
export async function visit(page: Page, siteUrl: string, file: string): Promise<VisitedPage> {
  const url = pageUrl(siteUrl, file);
  const started = performance.now();
  const status = await loadPage(page, url);
  const read = await page.evaluate(() => {
    const anchors = [
      ...[...document.querySelectorAll('[id]')].map((e) => e.id),
      ...[...document.querySelectorAll('a[name]')].map((e) => e.getAttribute('name') ?? ''),
    ];
    const links = [...document.querySelectorAll('a[href]')].map((a) => ({
      href: (a as HTMLAnchorElement).href,
      text: (a.textContent ?? '').trim().slice(0, 80),
    }));
    const images = [...document.querySelectorAll('img[src]')].map((i) => ({
      href: (i as HTMLImageElement).src,
      text: '<img>',
    }));
    return { title: document.title, anchors, refs: [...links, ...images] };
  });
  return {
    file,
    url,
    status,
    title: read.title,
    anchors: new Set(read.anchors),
    refs: read.refs,
    ms: performance.now() - started,
  };
}

/**
 * Loads every page in `files` with `tabs` pages side by side (each in its own browser context),
 * and returns what each showed, in `files` order, with every problem any tab saw.
 */
export async function visitAll(
  browser: Browser,
  siteUrl: string,
  files: readonly string[],
  tabs: number,
): Promise<{ visited: VisitedPage[]; problems: PageProblem[] }> {
  const results = new Array<VisitedPage>(files.length);
  const problems: PageProblem[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    const tab = await openWatchedPage(browser);
    try {
      for (let i = next++; i < files.length; i = next++) {
        results[i] = await visit(tab.page, siteUrl, files[i] as string);
      }
      // Anything a page started late (a lazy chunk, a diagram) finishes before the verdict.
      await tab.page.waitForLoadState('networkidle');
    } finally {
      problems.push(...tab.problems);
      await tab.context.close();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, tabs) }, worker));
  return { visited: results, problems };
}

/** Merges the static read of every page with what the browser saw on the pages it loaded. */
export function mergeLinks(
  statics: readonly PageLinks[],
  visited: readonly PageLinks[],
): PageLinks[] {
  const live = new Map(visited.map((v) => [v.file, v]));
  return statics.map((s) => {
    const v = live.get(s.file);
    if (v === undefined) return s;
    return {
      file: s.file,
      url: s.url,
      anchors: new Set([...s.anchors, ...v.anchors]),
      refs: [...v.refs, ...s.refs],
    };
  });
}

/** A link that does not resolve. */
export interface BrokenLink {
  readonly from: string;
  readonly href: string;
  readonly text: string;
  readonly why: string;
}

/** The dist file a same-site URL names, or why it names none. */
function target(
  dist: string,
  site: URL,
  href: string,
): { file: string; fragment: string } | { why: string } | 'external' {
  let t: URL;
  try {
    t = new URL(href);
  } catch {
    return { why: 'not a URL' };
  }
  if (t.protocol !== 'http:' && t.protocol !== 'https:') return 'external';
  if (t.origin !== site.origin) return 'external';
  let pathname: string;
  try {
    pathname = decodeURIComponent(t.pathname);
  } catch {
    return { why: 'undecodable path' };
  }
  if (!pathname.startsWith(site.pathname)) {
    return { why: `outside the site's base ${site.pathname}` };
  }
  const file = resolveInDist(dist, `/${pathname.slice(site.pathname.length)}`);
  if (file === undefined) return { why: 'no such page or file in the build' };
  let fragment: string;
  try {
    fragment = decodeURIComponent(t.hash.slice(1));
  } catch {
    fragment = t.hash.slice(1);
  }
  return { file: file.slice(dist.length).replace(/^[/\\]+/, ''), fragment };
}

/**
 * Checks every internal reference of the pages: its path must name a file of the build (as the
 * server resolves it) under the site's base, and its #fragment an anchor of the target page.
 * Other origins (and mailto:, javascript:) are counted, not followed.
 */
export function checkLinks(
  dist: string,
  siteUrl: string,
  pages: readonly PageLinks[],
): { broken: BrokenLink[]; internal: number; external: number } {
  const site = new URL(siteUrl);
  const anchorsByFile = new Map(pages.map((p) => [p.file, p.anchors]));
  const broken: BrokenLink[] = [];
  const seen = new Set<string>();
  let internal = 0;
  let external = 0;
  for (const p of pages) {
    for (const { href, text } of p.refs) {
      const key = `${p.file}\n${href}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const t = target(dist, site, href);
      if (t === 'external') {
        external++;
        continue;
      }
      internal++;
      if ('why' in t) {
        broken.push({ from: p.file, href, text, why: t.why });
        continue;
      }
      if (t.fragment === '' || !t.file.endsWith('.html')) continue;
      const anchors = anchorsByFile.get(t.file);
      if (anchors === undefined) {
        broken.push({
          from: p.file,
          href,
          text,
          why: `target ${t.file} is not a page of the crawl`,
        });
      } else if (!anchors.has(t.fragment)) {
        broken.push({ from: p.file, href, text, why: `no anchor #${t.fragment} on ${t.file}` });
      }
    }
  }
  return { broken, internal, external };
}

/** Pages that no chain of links from the home page reaches. */
export function unreachable(dist: string, siteUrl: string, pages: readonly PageLinks[]): string[] {
  const site = new URL(siteUrl);
  const edges = new Map<string, Set<string>>();
  for (const p of pages) {
    const out = new Set<string>();
    for (const { href } of p.refs) {
      const t = target(dist, site, href);
      if (t !== 'external' && 'file' in t && t.file.endsWith('.html')) out.add(t.file);
    }
    edges.set(p.file, out);
  }
  const reached = new Set<string>(['index.html']);
  const queue = ['index.html'];
  for (let f = queue.shift(); f !== undefined; f = queue.shift()) {
    for (const next of edges.get(f) ?? []) {
      if (!reached.has(next)) {
        reached.add(next);
        queue.push(next);
      }
    }
  }
  return pages.map((p) => p.file).filter((f) => !reached.has(f));
}

/** Problems as lines for a message: at most `max`. */
export function summarise(problems: readonly PageProblem[], max = 40): string {
  const lines = problems.map((p) => `${p.kind} on ${p.page}: ${p.text.split('\n')[0]}`);
  return lines.length > max
    ? `${lines.slice(0, max).join('\n')}\n… and ${lines.length - max} more`
    : lines.join('\n');
}
