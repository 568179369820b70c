// The site's navigation bar and sidebar, built from the pages the repository holds, so a new
// chapter, design note or package README appears without editing this file.

import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { DefaultTheme } from 'vitepress';
import { pageUrl, repoRoot, rewritePage } from './repo.ts';

/** The viewer's route (apps/site/pages/viewer.md). */
export const VIEWER_URL = '/viewer.html';

/** The API reference TypeDoc writes (served as it is, outside the VitePress router). */
export const API_URL = '/api/index.html';

/** Escapes text for the sidebar and nav, which VitePress renders as HTML. */
function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A page's title: its first level-1 heading, `code` spans kept as code. */
export function pageTitle(page: string): string {
  const text = readFileSync(resolve(repoRoot, page), 'utf8');
  const frontTitle = /^---\n[\s\S]*?^title:\s*(.+)$[\s\S]*?^---$/m.exec(text)?.[1];
  const heading = /^# (.+)$/m.exec(text.replace(/^(`{3,}|~{3,})[\s\S]*?^\1/gm, ''))?.[1];
  const title = (frontTitle ?? heading ?? page).trim();
  return escapeHtml(title).replace(/`([^`]+)`/g, '<code>$1</code>');
}

/** One sidebar entry per page, in the given order. */
function items(pages: readonly string[], text: (page: string) => string = pageTitle) {
  return pages.map((page) => ({ text: text(page), link: pageUrl(rewritePage(page)) }));
}

/** The layer a package declares (`hmmsim.layer` in its package.json), for ordering. */
function layerOf(dir: string): number {
  const manifest = resolve(repoRoot, dir, 'package.json');
  if (!existsSync(manifest)) return Number.POSITIVE_INFINITY;
  const layer = JSON.parse(readFileSync(manifest, 'utf8'))?.hmmsim?.layer;
  return typeof layer === 'number' ? layer : Number.POSITIVE_INFINITY;
}

/** A package README's sidebar text: the package name, without the heading's decoration. */
function packageText(page: string): string {
  return pageTitle(page).replace(/ \(<code>.*<\/code>\)$/, '');
}

/** Orders design notes: the architecture first, then the rest by path. */
function designOrder(a: string, b: string): number {
  const rank = (p: string) =>
    p === 'docs/architecture.md' ? 0 : p.startsWith('docs/kernel/') ? 2 : 1;
  return (
    rank(a) - rank(b) ||
    (a.endsWith('/README.md') ? -1 : 0) - (b.endsWith('/README.md') ? -1 : 0) ||
    a.localeCompare(b)
  );
}

/** The sidebar groups, and the nav built from them. */
export interface Navigation {
  readonly sidebar: DefaultTheme.SidebarItem[];
  readonly nav: DefaultTheme.NavItem[];
}

/** Builds the sidebar and nav from the list of pages (repository paths). */
export function buildNavigation(pages: readonly string[]): Navigation {
  const taken = new Set<string>();
  const take = (filter: (p: string) => boolean, order?: (a: string, b: string) => number) => {
    const found = pages.filter((p) => !taken.has(p) && filter(p));
    if (order) found.sort(order);
    for (const p of found) taken.add(p);
    return found;
  };
  const guideIndex = take((p) => p === 'apps/migration-guide/guide/README.md');
  const chapters = take((p) => p.startsWith('apps/migration-guide/guide/'));
  const viewer = take((p) => p === 'apps/site/pages/viewer.md');
  const design = take((p) => p.startsWith('docs/') && !p.startsWith('docs/bench/'), designOrder);
  const bench = take(
    (p) => p.startsWith('docs/bench/'),
    (a, b) => (a.endsWith('report.md') ? -1 : b.endsWith('report.md') ? 1 : a.localeCompare(b)),
  );
  const packages = take(
    (p) => /^packages\/[^/]+\/README\.md$/.test(p),
    (a, b) => layerOf(a.slice(0, -10)) - layerOf(b.slice(0, -10)) || a.localeCompare(b),
  );
  const apps = take((p) => /^apps\/[^/]+\/README\.md$/.test(p));
  const appNotes = take((p) => p.startsWith('apps/') && p.endsWith('/README.md'));
  const home = take((p) => p === 'README.md');
  const more = take((p) => !p.startsWith('apps/site/pages/source/'));

  const sidebar: DefaultTheme.SidebarItem[] = [
    {
      text: 'Introduction',
      items: [
        ...items(home, () => 'hmmsim'),
        ...items(viewer, () => 'Race viewer'),
        { text: 'API reference', link: API_URL, target: '_self' },
      ],
    },
    {
      text: 'Migration guide',
      items: [...items(guideIndex, () => 'Contents'), ...items(chapters)],
    },
    { text: 'Design', collapsed: false, items: items(design) },
    { text: 'Packages', collapsed: true, items: items(packages, packageText) },
    {
      text: 'Apps',
      collapsed: true,
      items: [...items(apps, packageText), ...items(appNotes)],
    },
    { text: 'Benchmark', collapsed: false, items: items(bench) },
  ];
  if (more.length > 0) sidebar.push({ text: 'More', collapsed: true, items: items(more) });

  const first = (list: readonly string[]) => pageUrl(rewritePage(list[0] ?? 'README.md'));
  const nav: DefaultTheme.NavItem[] = [
    { text: 'Guide', link: first(guideIndex), activeMatch: '^/guide/' },
    { text: 'Race viewer', link: VIEWER_URL, activeMatch: '^/viewer' },
    { text: 'Design', link: first(design), activeMatch: '^/docs/(?!bench/)' },
    { text: 'Packages', link: first(packages), activeMatch: '^/(packages|apps)/' },
    { text: 'Benchmark', link: first(bench), activeMatch: '^/docs/bench/' },
    { text: 'API', link: API_URL, target: '_self' },
  ];
  return { sidebar, nav };
}
