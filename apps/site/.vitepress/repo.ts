// What the site publishes from the repository, and where each repository file lives in it.
//
// The site's source directory is the repository root, so the README, the migration guide's
// chapters, the design notes and the package READMEs are served from the very files GitHub shows.
// Their relative links were written for GitHub (`../src/svm/v54.ts`, `packages/kernel`,
// `results.json`); `resolveRepoLink` maps each to the page or file that serves it in the site:
//
//   - a Markdown file that is a page             -> that page (after the rewrites below);
//   - a directory with a README page             -> that page;
//   - any other directory                        -> a generated listing page, /source/<dir>/;
//   - a file a browser shows as is (svg, json …) -> a copy of it, /files/<path>;
//   - any other file (TypeScript, shell, …)      -> a generated page showing it, /source/<path>.html.
//
// Runs in Node only (the config, the dynamic-route loader and the build scripts).

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, posix, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (the site's srcDir). */
export const repoRoot: string = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** The site app's own folder, relative to the repository root. */
export const siteDir = 'apps/site';

/** Where TypeDoc writes the API reference (`pnpm docs:api`), relative to the root. */
export const apiDir = 'docs/api';

/** Folder names never searched for pages nor listed, wherever they are (build output, caches). */
const SKIPPED_NAMES = new Set(['node_modules', 'dist', 'coverage', 'bench-results']);

/**
 * Folders (from the root) never searched for pages nor listed: the API reference TypeDoc writes
 * (with copies of Markdown files in docs/api/media), the TypeDoc front page, the site's tests and
 * what they leave behind.
 */
const SKIPPED_DIRS = new Set([apiDir, 'tools', `${siteDir}/test`, `${siteDir}/test-results`]);

/** File types a browser displays by itself: published as copies under /files/. */
const RAW_EXTENSIONS = new Set(['svg', 'png', 'jpg', 'jpeg', 'gif', 'webp', 'json', 'txt', 'csv']);

/** Shiki language of a source page, by file extension (anything else is shown as plain text). */
const LANGUAGES: Record<string, string> = {
  ts: 'ts',
  mts: 'ts',
  cts: 'ts',
  tsx: 'tsx',
  js: 'js',
  mjs: 'js',
  cjs: 'js',
  json: 'json',
  sh: 'sh',
  md: 'md',
  yaml: 'yaml',
  yml: 'yaml',
  c: 'c',
  h: 'c',
  vue: 'vue',
};

/** True for a repository-relative path that is never published (build output, caches). */
function isSkipped(path: string): boolean {
  const parts = path.split('/');
  if (parts.some((p) => p.startsWith('.') || SKIPPED_NAMES.has(p))) return true;
  for (let i = 1; i <= parts.length; i++) {
    if (SKIPPED_DIRS.has(parts.slice(0, i).join('/'))) return true;
  }
  return false;
}

/** Lists the repository's files under dir (relative paths, sorted), skipping build output. */
export function listFiles(dir = ''): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const name of readdirSync(resolve(repoRoot, rel)).sort()) {
      const child = rel ? `${rel}/${name}` : name;
      if (isSkipped(child)) continue;
      if (statSync(resolve(repoRoot, child)).isDirectory()) walk(child);
      else out.push(child);
    }
  };
  walk(dir);
  return out;
}

/**
 * The Markdown files served as pages, relative to the repository root: every Markdown file of
 * the repository except build output, the TypeDoc front page (tools/api-docs) and TypeDoc's
 * copies (docs/api/media), plus the site's own pages under apps/site/pages.
 */
export function pageFiles(): string[] {
  return listFiles().filter((f) => f.endsWith('.md') && !f.includes('['));
}

/** Globs VitePress must not treat as pages: what pageFiles leaves out (hidden files aside). */
export const srcExclude: string[] = [
  ...[...SKIPPED_NAMES].map((name) => `**/${name}/**`),
  ...[...SKIPPED_DIRS].map((dir) => `${dir}/**`),
];

const GUIDE_DIR = 'apps/migration-guide/guide/';
const SITE_PAGES_DIR = `${siteDir}/pages/`;

/**
 * The site path (a Markdown path relative to the site root) of a page, from its repository path:
 * the README is the home page, the guide's chapters live under guide/, the site's own pages at
 * the top, every other README is its folder's index; everything else keeps its repository path.
 */
export function rewritePage(page: string): string {
  let path = page;
  if (path.startsWith(GUIDE_DIR)) path = `guide/${path.slice(GUIDE_DIR.length)}`;
  else if (path.startsWith(SITE_PAGES_DIR)) path = path.slice(SITE_PAGES_DIR.length);
  if (path === 'README.md') return 'index.md';
  if (path.endsWith('/README.md')) return `${path.slice(0, -'README.md'.length)}index.md`;
  return path;
}

/** The URL (from the site root, with the .html VitePress gives it) of a page's site path. */
export function pageUrl(sitePath: string): string {
  if (sitePath === 'index.md') return '/';
  if (sitePath.endsWith('/index.md')) return `/${sitePath.slice(0, -'index.md'.length)}`;
  return `/${sitePath.replace(/\.md$/, '.html')}`;
}

/** The published URL of a repository file that is not a page. */
export function fileUrl(path: string): string {
  return `/files/${path}`;
}

/** The site path of the generated page showing a repository file or listing a folder. */
export function sourcePagePath(path: string, isDir: boolean): string {
  return isDir ? `source/${path}/index.md` : `source/${path}.md`;
}

/** How a link of a page resolved: the new href, and what must be generated for it. */
export interface ResolvedLink {
  readonly href: string;
  readonly kind: 'page' | 'raw' | 'source' | 'listing' | 'api';
  /** The repository path the link points at (a file or folder), or the API path. */
  readonly target: string;
}

/** Splits `path#hash` / `path?query` into the path and what follows it. */
function splitSuffix(href: string): [string, string] {
  const at = href.search(/[?#]/);
  return at < 0 ? [href, ''] : [href.slice(0, at), href.slice(at)];
}

/** True for an href that leaves the site or needs no mapping (scheme, protocol-relative, anchor). */
function isExternalOrAnchor(href: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(href) || href.startsWith('//') || href.startsWith('#');
}

/**
 * Maps a link written in repository file `from` (relative to the root) to where its target is
 * served in the site; undefined for links that need no mapping (external, anchors, links already
 * absolute in the site, and targets that do not exist, which the dead-link checks then report).
 */
export function resolveRepoLink(
  from: string,
  href: string,
  pages: ReadonlySet<string>,
): ResolvedLink | undefined {
  if (href === '' || isExternalOrAnchor(href)) return undefined;
  const [rawPath, suffix] = splitSuffix(href);
  let path: string;
  try {
    path = decodeURI(rawPath);
  } catch {
    return undefined;
  }
  if (path.startsWith('/')) {
    if (path === '/api' || path.startsWith('/api/')) {
      return { href, kind: 'api', target: path };
    }
    return undefined;
  }
  const target = posix.normalize(posix.join(posix.dirname(from), path)).replace(/\/$/, '');
  if (target.startsWith('..')) return undefined;
  if (target === '.' || target === '') return { href: `/${suffix}`, kind: 'page', target: '' };
  const abs = resolve(repoRoot, target);
  if (!existsSync(abs) || isSkipped(target)) return undefined;
  if (statSync(abs).isDirectory()) {
    const readme = `${target}/README.md`;
    if (pages.has(readme)) {
      return { href: pageUrl(rewritePage(readme)) + suffix, kind: 'page', target: readme };
    }
    return {
      href: pageUrl(sourcePagePath(target, true)) + suffix,
      kind: 'listing',
      target,
    };
  }
  if (pages.has(target)) {
    return { href: pageUrl(rewritePage(target)) + suffix, kind: 'page', target };
  }
  const ext = target.slice(target.lastIndexOf('.') + 1).toLowerCase();
  if (RAW_EXTENSIONS.has(ext)) return { href: fileUrl(target) + suffix, kind: 'raw', target };
  return { href: pageUrl(sourcePagePath(target, false)) + suffix, kind: 'source', target };
}

/** Removes fenced code blocks and inline code, whose brackets are not links. */
function stripCode(markdown: string): string {
  return markdown
    .replace(/^( {0,3})(`{3,}|~{3,})[^\n]*\n[\s\S]*?\n {0,3}\2[`~]*[ \t]*$/gm, '')
    .replace(/(`+)[^`]*?\1/g, '');
}

/** The link targets written in a Markdown text: inline links, images and reference definitions. */
export function markdownLinks(markdown: string): string[] {
  const text = stripCode(markdown);
  const out: string[] = [];
  for (const m of text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) out.push(m[1] ?? '');
  for (const m of text.matchAll(/^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)) out.push(m[1] ?? '');
  return out;
}

/** Everything the site generates besides its Markdown pages. */
export interface Generated {
  /** Repository files shown on a generated source page. */
  readonly sources: readonly string[];
  /** Repository folders (without a README page) shown as a generated listing. */
  readonly listings: readonly string[];
  /** Repository files copied as they are under /files/. */
  readonly raw: readonly string[];
}

/**
 * Follows every relative link of every page (and of the listings it generates) and returns what
 * must be generated so that each one resolves.
 */
export function collectGenerated(pages: readonly string[]): Generated {
  const pageSet = new Set(pages);
  const sources = new Set<string>();
  const listings = new Set<string>();
  const raw = new Set<string>();
  const visit = (link: ResolvedLink | undefined): void => {
    if (!link) return;
    if (link.kind === 'source') sources.add(link.target);
    else if (link.kind === 'raw') raw.add(link.target);
    else if (link.kind === 'listing' && !listings.has(link.target)) {
      listings.add(link.target);
      for (const child of listingEntries(link.target)) {
        visit(resolveRepoLink(`${link.target}/-`, child, pageSet));
      }
    }
  };
  for (const page of pages) {
    const text = readFileSync(resolve(repoRoot, page), 'utf8');
    for (const href of markdownLinks(text)) visit(resolveRepoLink(page, href, pageSet));
  }
  return { sources: [...sources].sort(), listings: [...listings].sort(), raw: [...raw].sort() };
}

/** The files of a listed folder, relative to it (every file below it, build output skipped). */
export function listingEntries(dir: string): string[] {
  return listFiles(dir).map((f) => relative(dir, f).split('\\').join('/'));
}

/** The longest run of backticks in a text, so a fence around it can be longer. */
function longestBacktickRun(text: string): number {
  let longest = 0;
  for (const m of text.matchAll(/`+/g)) longest = Math.max(longest, m[0].length);
  return longest;
}

/** The Markdown of the generated page showing one repository file. */
export function sourcePageMarkdown(path: string): string {
  const text = readFileSync(resolve(repoRoot, path), 'utf8');
  const ext = path.slice(path.lastIndexOf('.') + 1).toLowerCase();
  const lang = LANGUAGES[ext] ?? 'text';
  const fence = '`'.repeat(Math.max(3, longestBacktickRun(text) + 1));
  const lines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
  return [
    `# \`${path}\``,
    '',
    `The file as it is in the repository (${lines} lines), linked from the pages of this site.`,
    '',
    `${fence}${lang}`,
    text.endsWith('\n') ? text.slice(0, -1) : text,
    fence,
    '',
  ].join('\n');
}

/** A folder's package name and description (from its package.json), as a Markdown line. */
function packageAbout(dir: string): string | undefined {
  const manifest = resolve(repoRoot, dir, 'package.json');
  if (!existsSync(manifest)) return undefined;
  const { name, description } = JSON.parse(readFileSync(manifest, 'utf8')) as {
    name?: string;
    description?: string;
  };
  if (!name) return undefined;
  if (!description) return `\`${name}\``;
  // Plain text in a Vue template: no HTML, no {{ interpolation }}.
  const text = description.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/\{/g, '&#123;');
  return `\`${name}\`: ${text}`;
}

/**
 * The Markdown of the generated page listing the files of one repository folder, grouped by
 * sub-folder, each linked to where the site serves it.
 */
export function listingPageMarkdown(dir: string, pages: ReadonlySet<string>): string {
  const lines = [`# \`${dir}/\``, '', 'The files of this folder in the repository.', ''];
  let group = '';
  for (const entry of listingEntries(dir)) {
    const sub = entry.includes('/') ? entry.slice(0, entry.indexOf('/')) : '';
    if (sub !== group) {
      group = sub;
      lines.push('', `## \`${sub}/\``, '');
      const about = packageAbout(`${dir}/${sub}`);
      if (about) lines.push(about, '');
    }
    const link = resolveRepoLink(`${dir}/-`, entry, pages);
    lines.push(link ? `- [\`${entry}\`](${link.href})` : `- \`${entry}\``);
  }
  lines.push('');
  return lines.join('\n');
}
