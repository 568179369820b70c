// Chromium through playwright-core: launching it, and pages that collect every console error,
// uncaught exception and failed request, so a test can assert that a page loaded cleanly.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { chromiumPath, RESULTS_DIR } from './site.ts';

/** Launches headless Chromium (Debian's, with --no-sandbox: CI runs as root). */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
    headless: true,
  });
}

/** Something that went wrong on a page. */
export interface PageProblem {
  readonly kind: 'console-error' | 'page-error' | 'request-failed' | 'http-error';
  /** The page's URL when it happened. */
  readonly page: string;
  readonly text: string;
}

/** A page and the problems seen on it since it was opened (or since `problems.length = 0`). */
export interface WatchedPage {
  readonly page: Page;
  readonly context: BrowserContext;
  readonly problems: PageProblem[];
}

/** Opens a page in a fresh context (1280×900) and records every problem it shows. */
export async function openWatchedPage(browser: Browser): Promise<WatchedPage> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const problems: PageProblem[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') {
      const loc = msg.location();
      const where = loc.url ? ` (${loc.url}:${loc.lineNumber})` : '';
      problems.push({ kind: 'console-error', page: page.url(), text: `${msg.text()}${where}` });
    }
  });
  page.on('pageerror', (err) => {
    problems.push({ kind: 'page-error', page: page.url(), text: err.stack ?? err.message });
  });
  page.on('requestfailed', (req) => {
    // ERR_ABORTED is the browser dropping a request itself: a prefetch (VitePress prefetches
    // the pages a visible link leads to) or a load cut short by the next navigation. A missing
    // file shows up as an http-error instead.
    const failure = req.failure()?.errorText ?? 'failed';
    if (failure === 'net::ERR_ABORTED') return;
    problems.push({ kind: 'request-failed', page: page.url(), text: `${req.url()}: ${failure}` });
  });
  page.on('response', (res) => {
    if (res.status() >= 400) {
      problems.push({
        kind: 'http-error',
        page: page.url(),
        text: `${res.status()} ${res.url()}`,
      });
    }
  });
  return { page, context, problems };
}

/** Saves a full-page screenshot to test-results/screenshots/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string, fullPage = true): Promise<string> {
  const dir = join(RESULTS_DIR, 'screenshots');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.png`);
  // A full-page capture draws the fixed nav bar and sidebar where the window is scrolled to:
  // capture from the top so they sit where a reader sees them.
  if (fullPage) await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path, fullPage });
  return path;
}

/** The problems as lines, for an assertion message. */
export function describeProblems(problems: readonly PageProblem[]): string {
  return problems.map((p) => `${p.kind} on ${p.page}: ${p.text}`).join('\n');
}
