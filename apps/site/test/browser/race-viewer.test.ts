// The race viewer in Chromium, on the built site: it finds the legacy munmap race and shows the
// stale mapping at the step CPU1 programs the device; the shim and the native driver are clean
// and exhaust the space; a pasted schedule replays; a shared link restores the view; the arrow
// keys step; bad input is explained; cancel stops a run. The performance figures (explore time,
// input latency, JavaScript size) are measured in viewer-figures.test.ts.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  describeProblems,
  launchBrowser,
  openWatchedPage,
  screenshot,
  type WatchedPage,
} from './browser.ts';

const siteUrl = inject('siteUrl');

let browser: Browser;
let tab: WatchedPage;

beforeAll(async () => {
  browser = await launchBrowser();
  tab = await openWatchedPage(browser);
});

afterAll(async () => {
  await browser?.close();
});

/** The viewer page's URL with a query. */
function viewerUrl(query = ''): string {
  return new URL(`viewer.html${query}`, siteUrl).href;
}

/** Wait until the viewer shows a finished run (explored or replayed). */
async function ready(page: Page): Promise<void> {
  await page.waitForFunction(
    () => document.querySelector('.race-viewer')?.getAttribute('data-phase') === 'ready',
    null,
    { timeout: 60_000 },
  );
}

/** Click Explore and wait for the summary; returns its "Schedules explored" and the summary text. */
async function explore(page: Page, scenario: string, impl: string): Promise<string> {
  await page.selectOption('select[name="scenario"]', scenario);
  await page.selectOption('select[name="impl"]', impl);
  await page.click('button.rv-primary');
  await page.waitForFunction(() => document.querySelector('[data-test="summary"]') !== null, null, {
    timeout: 60_000,
  });
  await ready(page);
  return (await page.textContent('[data-test="summary"]')) ?? '';
}

/** The text of the stepper's position line. */
async function position(page: Page): Promise<string> {
  return (await page.textContent('[data-test="position"]')) ?? '';
}

describe('the race viewer', () => {
  it('finds the legacy munmap race on load and shows the stale mapping where CPU1 programs the device', async () => {
    tab.problems.length = 0;
    await tab.page.goto(viewerUrl());
    await ready(tab.page);
    const summary = (await tab.page.textContent('[data-test="summary"]')) ?? '';
    expect(summary).toMatch(/Violation \(invariant\) — as expected/);
    expect(summary).toMatch(/2x6\.1/);
    expect(summary).toMatch(/no — stopped at the first violation/);
    // The stepper opens at the first stale step: CPU1's rows there include the device write.
    const current = tab.page.locator('.rv-lanes tr[aria-current="step"]');
    expect(await current.textContent()).toMatch(
      /driver\.hmm_range_valid true[\s\S]*driver\.program/,
    );
    expect(await current.textContent()).toMatch(/⚠ stale/);
    expect(await position(tab.page)).toMatch(
      /page 1: STALE: the device maps pfn \d+ but the CPU maps nothing there; pfn \d+ now belongs to mm\d+ \(another process\)/,
    );
    const device = (await tab.page.textContent('[data-test="device-table"]')) ?? '';
    expect(device).toMatch(/⚠ STALE/);
    expect(await tab.page.textContent('[data-test="cpu-table"]')).toMatch(/not mapped/);
    expect(await tab.page.textContent('[data-test="notifiers"]')).toMatch(
      /hmm_range_valid\(\) = true/,
    );
    expect(await tab.page.textContent('[data-test="locks"]')).toMatch(
      /cpu1 device fault:\s*running; holds legacy-driver\.update \(mutex\)/,
    );
    // One step earlier nothing is stale yet.
    await tab.page.click('button[aria-label="Previous step"]');
    expect(await tab.page.locator('[data-test="stale"]').count()).toBe(0);
    expect(tab.page.url()).toMatch(/scenario=munmap&impl=legacy&schedule=2x6\.1&step=\d+/);
    await tab.page.click('.rv-jump');
    await screenshot(tab.page, 'viewer-legacy-munmap-stale');
    expect(tab.problems, describeProblems(tab.problems)).toEqual([]);
  });

  it('steps with the keyboard', async () => {
    const page = tab.page;
    await page.focus('button[aria-label="Next step"]');
    await page.keyboard.press('Home');
    expect(await position(page)).toMatch(/^Before the run \(position 0 of (\d+)\)/);
    const last = Number(/of (\d+)/.exec(await position(page))?.[1]);
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    expect(await position(page)).toMatch(/^Position 2 of /);
    await page.keyboard.press('End');
    expect(await position(page)).toMatch(new RegExp(`^Position ${last} of ${last}`));
    // The Next button is now at the end (aria-disabled) but keeps the focus: the keys still work.
    await page.keyboard.press('ArrowLeft');
    expect(await position(page)).toMatch(new RegExp(`^Position ${last - 1} of `));
    // The range slider steps too.
    await page.focus('.rv-range input');
    await page.keyboard.press('Home');
    expect(await position(page)).toMatch(/^Before the run/);
    await page.keyboard.press('ArrowRight');
    expect(await position(page)).toMatch(/^Position 1 of /);
  });

  it('explores the seed race on all three implementations in the browser: legacy caught, shim and interval clean and exhausted', async () => {
    const page = tab.page;
    tab.problems.length = 0;
    for (const impl of ['legacy', 'shim', 'interval']) {
      const summary = await explore(page, 'munmap', impl);
      if (impl === 'legacy') expect(summary).toMatch(/Violation \(invariant\) — as expected/);
      else {
        expect(summary).toMatch(/No violation — as expected/);
        expect(await page.textContent('[data-test="exhausted"]')).toMatch(/^yes/);
        // The trace shown is the legacy race's schedule, replayed on this driver: no stale entry.
        expect(await page.textContent('[data-test="shown"]')).toMatch(
          /the schedule that breaks the legacy hmm_mirror \(v5\.4\) driver/,
        );
        expect(await page.locator('[data-test="failure"]').count()).toBe(0);
        expect(await page.locator('.rv-jump').count()).toBe(0);
        // It opens where CPU1 resumes after the preemption. On the shim CPU0's whole munmap ran
        // meanwhile and the check sees it; the native driver was preempted holding its lock, so
        // CPU0's invalidation waits for it and clears the entry afterwards.
        const notifiers = (await page.textContent('[data-test="notifiers"]')) ?? '';
        if (impl === 'shim')
          expect(notifiers).toMatch(/shim range notifier.*read_retry true: retry/);
        else expect(notifiers).toMatch(/driver notifier.*read_retry false: go ahead/);
      }
      await screenshot(page, `viewer-munmap-${impl}`);
    }
    expect(tab.problems, describeProblems(tab.problems)).toEqual([]);
  });

  it('explores every interleaving on a driver that reports its accesses, and says so', async () => {
    const page = tab.page;
    tab.problems.length = 0;
    await page.selectOption('select[name="scenario"]', 'munmap');
    await page.selectOption('select[name="impl"]', 'shim');
    await page.click('button[data-test="all-interleavings"]');
    await page.waitForFunction(
      () =>
        /verified over all interleavings/.test(
          document.querySelector('[data-test="exhausted"]')?.textContent ?? '',
        ),
      null,
      { timeout: 60_000 },
    );
    await ready(page);
    expect(await page.textContent('[data-test="summary"]')).toMatch(/No violation — as expected/);
    // The guide's pitfall drivers do not report their accesses: bounded search only.
    const pitfall = await page.evaluate(() => {
      const options = [...document.querySelectorAll('select[name="scenario"] option')];
      return options
        .map((o) => (o as HTMLOptionElement).value)
        .find((v) => v !== 'munmap' && v !== 'mprotect' && v !== 'reclaim');
    });
    expect(pitfall).toBeDefined();
    await page.selectOption('select[name="scenario"]', pitfall!);
    expect(await page.isDisabled('button[data-test="all-interleavings"]')).toBe(true);
    expect(tab.problems, describeProblems(tab.problems)).toEqual([]);
  });

  it('replays a pasted schedule, and explains one that does not parse or fit', async () => {
    const page = tab.page;
    await page.selectOption('select[name="scenario"]', 'munmap');
    await page.selectOption('select[name="impl"]', 'legacy');
    await page.fill('#rv-schedule-input', '2.2.2.2.2.2.1');
    await page.click('.rv-schedule button[type="submit"]');
    await ready(page);
    expect(await page.textContent('[data-test="status"]')).toMatch(
      /Replayed schedule '2x6\.1': violation \(invariant\)/,
    );
    expect(await page.textContent('[data-test="failure"]')).toMatch(
      /INVARIANT: stale device mapping/,
    );
    expect(await position(page)).toMatch(/STALE/);
    await page.fill('#rv-schedule-input', '2x6.q');
    await page.click('.rv-schedule button[type="submit"]');
    await page.waitForSelector('[data-test="error"]');
    expect(await page.textContent('[data-test="error"]')).toMatch(/bad token 'q'/);
    await page.fill('#rv-schedule-input', '9');
    await page.click('.rv-schedule button[type="submit"]');
    await expect
      .poll(() => page.textContent('[data-test="error"]'))
      .toMatch(/asks for task 9 at decision 1/);
  });

  it('restores a shared link, and explains a bad one', async () => {
    const page = tab.page;
    tab.problems.length = 0;
    await page.goto(viewerUrl('?scenario=reclaim&impl=legacy&schedule=2x6.1&step=5'));
    await ready(page);
    expect(await page.inputValue('select[name="scenario"]')).toBe('reclaim');
    expect(await page.inputValue('select[name="impl"]')).toBe('legacy');
    expect(await page.inputValue('#rv-schedule-input')).toBe('2x6.1');
    expect(await position(page)).toMatch(/^Position 5 of /);
    // The link box holds the same view.
    expect(await page.inputValue('#rv-share-link')).toMatch(
      /\?scenario=reclaim&impl=legacy&schedule=2x6\.1&step=5$/,
    );
    await screenshot(page, 'viewer-restored-link');
    await page.goto(viewerUrl('?scenario=munmap&impl=fixed'));
    await page.waitForSelector('[data-test="error"]', { timeout: 60_000 });
    expect(await page.textContent('[data-test="error"]')).toMatch(
      /scenario 'munmap' has no driver 'fixed'/,
    );
    expect(tab.problems, describeProblems(tab.problems)).toEqual([]);
  });

  it('cancels a running exploration', async () => {
    const page = tab.page;
    await page.goto(viewerUrl('?scenario=munmap&impl=interval&schedule='));
    await ready(page);
    // The longest exploration of the catalogue (thousands of schedules).
    await page.selectOption('select[name="scenario"]', 'pitfall-unbounded-retry');
    await page.selectOption('select[name="impl"]', 'fixed');
    await page.click('button.rv-primary');
    await page.waitForFunction(() =>
      /Exploring: \d/.test(document.querySelector('[data-test="status"]')?.textContent ?? ''),
    );
    expect(await page.getAttribute('.race-viewer', 'data-phase')).toBe('exploring');
    await page.click('button:has-text("Cancel")');
    await expect
      .poll(() => page.textContent('[data-test="status"]'))
      .toMatch(/Exploration cancelled/);
    expect(await page.getAttribute('.race-viewer', 'data-phase')).not.toBe('exploring');
  });
});
