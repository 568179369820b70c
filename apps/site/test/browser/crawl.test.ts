// Every page of the built site loads in Chromium with no console error, uncaught exception or
// failed request; every internal link and image resolves (fragments included); every page can be
// reached from the home page; the site holds what issue 16 asks for.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { launchBrowser, openWatchedPage, screenshot, type WatchedPage } from './browser.ts';
import {
  checkLinks,
  htmlPages,
  isApiPage,
  loadPage,
  mergeLinks,
  type PageLinks,
  pagesToLoad,
  readStatic,
  summarise,
  unreachable,
  type VisitedPage,
  visitAll,
} from './crawl.ts';
import { REPO_ROOT } from './site.ts';

const siteUrl = inject('siteUrl');
const dist = inject('siteDist');

let browser: Browser;
let tab: WatchedPage;
/** What Chromium showed of the pages it loaded. */
const visited: VisitedPage[] = [];
/** Every page's links and anchors: from its HTML, and from the live DOM where it was loaded. */
let linked: PageLinks[] = [];
/** Pages loaded side by side (2 cores: Chromium's processes and the server share them). */
const CRAWL_TABS = Number(process.env['HMMSIM_SITE_CRAWL_TABS'] ?? 3);
/** API reference pages loaded besides its entry and module pages (HMMSIM_SITE_CRAWL_ALL=1: all). */
const API_SAMPLE = 30;
const CRAWL_ALL = process.env['HMMSIM_SITE_CRAWL_ALL'] === '1';

beforeAll(async () => {
  browser = await launchBrowser();
  tab = await openWatchedPage(browser);
});

afterAll(async () => {
  await browser?.close();
});

/** Strips tags and decodes the common entities of an HTML fragment; collapses white space. */
function plainText(html: string): string {
  return html
    .replace(/<[^>]*>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\u200b/g, '')
    .replace(/\s+/g, ' ')
    .trim();
}

/** The text of every level-1 heading of every built page. */
function builtHeadings(): Set<string> {
  const out = new Set<string>();
  for (const f of htmlPages(dist)) {
    for (const m of readFileSync(join(dist, f), 'utf8').matchAll(/<h1[^>]*>([\s\S]*?)<\/h1>/g)) {
      out.add(plainText(m[1] ?? '').replace(/\s*#\s*$/, ''));
    }
  }
  return out;
}

/** The first '# ' heading of a Markdown file, as text (inline code marks and emphasis removed). */
function firstHeading(file: string): string {
  const m = /^# (.+)$/m.exec(readFileSync(file, 'utf8'));
  if (!m?.[1]) throw new Error(`${file} has no level-1 heading`);
  return m[1]
    .replace(/`/g, '')
    .replace(/\*\*|__/g, '')
    .replace(/\s+/g, ' ')
    .trim();
}

describe('the built site', () => {
  it('holds the introduction, every guide chapter, the bench report, the API reference and the viewer', () => {
    const pages = htmlPages(dist);
    const headings = builtHeadings();
    const guideDir = join(REPO_ROOT, 'apps/migration-guide/guide');
    const missing: string[] = [];
    for (const chapter of readdirSync(guideDir).filter((f) => f.endsWith('.md'))) {
      const heading = firstHeading(join(guideDir, chapter));
      if (!headings.has(heading)) missing.push(`guide/${chapter}: "${heading}"`);
    }
    const bench = firstHeading(join(REPO_ROOT, 'docs/bench/report.md'));
    if (!headings.has(bench)) missing.push(`docs/bench/report.md: "${bench}"`);
    expect(missing, `pages missing from the build:\n${missing.join('\n')}`).toEqual([]);
    expect(
      pages.some((p) => /(^|\/)api\//.test(p)),
      'an API reference page',
    ).toBe(true);
    expect(
      pages.some((p) => /viewer/.test(p)),
      'the viewer page',
    ).toBe(true);
    console.log(
      `[crawl] ${pages.length} pages built (${pages.filter(isApiPage).length} of the API reference)`,
    );
  });

  it(
    'loads the pages in Chromium with no console error, uncaught exception or failed request',
    async () => {
      const all = htmlPages(dist);
      const chosen = pagesToLoad(all, API_SAMPLE, CRAWL_ALL);
      const started = performance.now();
      const result = await visitAll(browser, siteUrl, chosen, CRAWL_TABS);
      visited.push(...result.visited);
      const ms = performance.now() - started;
      const slowest = [...visited].sort((a, b) => b.ms - a.ms).slice(0, 3);
      const site = chosen.filter((f) => !isApiPage(f)).length;
      console.log(
        `[crawl] ${visited.length} pages loaded in ${(ms / 1000).toFixed(1)} s with ${CRAWL_TABS} tabs: ` +
          `all ${site} site pages, ${visited.length - site} of ${all.length - site} API reference pages; ` +
          `slowest: ${slowest.map((v) => `${v.file} ${v.ms.toFixed(0)} ms`).join(', ')}`,
      );
      const bad = visited.filter((v) => v.status !== 200);
      expect(bad.map((v) => `${v.status} ${v.url}`)).toEqual([]);
      expect(result.problems, summarise(result.problems)).toEqual([]);
      const untitled = visited.filter((v) => v.title.trim() === '');
      expect(
        untitled.map((v) => v.file),
        'pages without a <title>',
      ).toEqual([]);
    },
    CRAWL_ALL ? 3_600_000 : 600_000,
  );

  it('resolves every internal link, image, script and style of every page, fragments included', () => {
    expect(visited.length, 'the load test ran first').toBeGreaterThan(0);
    const statics = htmlPages(dist).map((f) => readStatic(dist, siteUrl, f));
    linked = mergeLinks(statics, visited);
    const { broken, internal, external } = checkLinks(dist, siteUrl, linked);
    console.log(
      `[crawl] ${internal} internal references of ${linked.length} pages checked, ${external} to other sites not followed`,
    );
    const lines = broken.map((b) => `${b.from}: [${b.text}](${b.href}) — ${b.why}`);
    const shown =
      lines.length > 60 ? [...lines.slice(0, 60), `… and ${lines.length - 60} more`] : lines;
    expect(lines, `broken links:\n${shown.join('\n')}`).toEqual([]);
  });

  it('reaches every page from the home page by following links', () => {
    expect(linked.length, 'the link test ran first').toBeGreaterThan(0);
    const lost = unreachable(dist, siteUrl, linked);
    expect(lost, `pages no chain of links from the home page reaches:\n${lost.join('\n')}`).toEqual(
      [],
    );
  });

  it('navigates in-app from the home page to a guide chapter without a full reload or error', async () => {
    tab.problems.length = 0;
    await loadPage(tab.page, siteUrl);
    await screenshot(tab.page, 'home');
    // Mark the document: a client-side navigation keeps it, a full reload loses the mark.
    await tab.page.evaluate(() => {
      (window as unknown as { __hmmsimMark: number }).__hmmsimMark = 1;
    });
    const link = tab.page.locator('a[href*="guide"]').first();
    await expect.poll(() => link.count()).toBeGreaterThan(0);
    const before = tab.page.url();
    await link.click();
    await tab.page.waitForURL((u) => u.href !== before);
    await tab.page.waitForLoadState('networkidle');
    const kept = await tab.page.evaluate(
      () => (window as unknown as { __hmmsimMark?: number }).__hmmsimMark === 1,
    );
    expect(kept, 'the router navigated without reloading the page').toBe(true);
    expect(await tab.page.locator('h1').first().textContent()).toBeTruthy();
    await screenshot(tab.page, 'guide-after-navigation');
    expect(tab.problems, summarise(tab.problems)).toEqual([]);
  });

  it('finds a kernel name with an underscore in the search box, and opens the result', async () => {
    tab.problems.length = 0;
    await loadPage(tab.page, siteUrl);
    await tab.page.locator('.VPNavBarSearch button').first().click();
    const input = tab.page.locator('#localsearch-input');
    const results = tab.page.locator('#localsearch-list .result');
    // "set" alone matches most pages; "set_seq" is one word, and only the pages naming it match.
    await input.fill('set');
    await expect.poll(() => results.count()).toBeGreaterThan(0);
    const broad = await results.count();
    await input.fill('set_seq');
    await expect.poll(() => results.count()).toBeLessThan(broad);
    expect(await results.count()).toBeGreaterThan(0);
    const first = results.first();
    await screenshot(tab.page, 'search-set-seq', false);
    const before = tab.page.url();
    await first.click();
    await tab.page.waitForURL((u) => u.href !== before);
    await tab.page.waitForLoadState('networkidle');
    expect(await tab.page.locator('.vp-doc').textContent()).toMatch(/set_seq/);
    expect(tab.problems, summarise(tab.problems)).toEqual([]);
  });

  it("opens the viewer from the guide's pitfalls table on that pitfall", async () => {
    tab.problems.length = 0;
    const chapter = htmlPages(dist).find((f) => /06-pitfalls\.html$/.test(f));
    expect(chapter, 'the pitfalls chapter is built').toBeDefined();
    await loadPage(tab.page, new URL(chapter!, siteUrl).href);
    const link = tab.page.locator('a[href*="scenario=pitfall-forgot-set-seq"]').first();
    await link.click();
    await tab.page.waitForURL(/viewer\.html\?scenario=pitfall-forgot-set-seq&impl=mistake/);
    await expect
      .poll(() => tab.page.inputValue('select[name="scenario"]'), { timeout: 30_000 })
      .toBe('pitfall-forgot-set-seq');
    expect(tab.problems, summarise(tab.problems)).toEqual([]);
  });

  it('answers an unknown URL with the site 404 page and no script error', async () => {
    tab.problems.length = 0;
    const res = await tab.page.goto(new URL('no-such-page-here', siteUrl).href);
    expect(res?.status()).toBe(404);
    await tab.page.waitForLoadState('networkidle');
    // The 404 of the document itself is expected; nothing else may fail.
    const others = tab.problems.filter(
      (p) =>
        !(p.kind === 'http-error' || p.kind === 'console-error') ||
        !p.text.includes('no-such-page-here'),
    );
    expect(others, summarise(others)).toEqual([]);
    await screenshot(tab.page, 'not-found');
  });
});
