// The hmmsim site: VitePress over the repository's own Markdown files.
//
// srcDir is the repository root, so every page is the file GitHub shows (the README, the
// migration guide's chapters, the design notes, the package READMEs, the bench report); the
// rewrites give them short URLs, resolveRepoLink maps their repository links to the site, and
// the API reference TypeDoc writes to docs/api is served under /api/.

import {
  copyFileSync,
  createReadStream,
  existsSync,
  mkdirSync,
  readdirSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join, normalize, resolve } from 'node:path';
import type { Plugin } from 'vite';
import { defineConfig } from 'vitepress';
import { FAVICON_DATA_URI, faviconIco } from './favicon.ts';
import { githubSlug, mermaidPlugin, repoLinksPlugin } from './markdown.ts';
import { buildNavigation } from './navigation.ts';
import {
  apiDir,
  collectGenerated,
  pageFiles,
  repoRoot,
  rewritePage,
  siteDir,
  srcExclude,
} from './repo.ts';

/** The export condition under which @hmmsim/* packages point at their TypeScript sources. */
const SOURCE_CONDITION = '@hmmsim/source';

const pages = pageFiles();
const pageSet = new Set(pages);
const generated = collectGenerated(pages);
const rawFiles = new Set(generated.raw);
const { nav, sidebar } = buildNavigation(pages);

/** mermaid's prebuilt ES modules (dist/), served under /vendor/mermaid/ (see mermaid-diagram.ts). */
const MERMAID_DIST = join(
  dirname(createRequire(import.meta.url).resolve('mermaid/package.json')),
  'dist',
);

/** The files of MERMAID_DIST the browser may load: the entry and its chunks, source maps left out. */
function mermaidFiles(): string[] {
  const chunks = 'chunks/mermaid.esm.min';
  return [
    'mermaid.esm.min.mjs',
    ...readdirSync(join(MERMAID_DIST, chunks))
      .filter((f) => f.endsWith('.mjs'))
      .map((f) => `${chunks}/${f}`),
  ];
}

/** Content types of the files the dev server serves from docs/api and /files/. */
const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json; charset=utf-8',
  '.png': 'image/png',
  '.txt': 'text/plain; charset=utf-8',
  '.csv': 'text/csv; charset=utf-8',
  '.woff2': 'font/woff2',
};

/**
 * In `site:dev`, serves what the build copies next to the pages: the API reference (docs/api, as
 * `pnpm docs:api` last wrote it) under /api/, the linked repository files under /files/,
 * mermaid's modules under /vendor/mermaid/, and the icon.
 */
function repositoryFilesPlugin(): Plugin {
  return {
    name: 'hmmsim-site:repository-files',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const url = decodeURIComponent((req.url ?? '').replace(/[?#].*$/, ''));
        if (url === '/favicon.ico') {
          // The dev server's page shell has no <head> yet when the browser asks for an icon.
          res.setHeader('Content-Type', 'image/x-icon');
          res.end(faviconIco());
          return;
        }
        let file: string | undefined;
        if (url === '/api' || url.startsWith('/api/')) {
          const rel = normalize(url.slice('/api'.length)).replace(/^[/\\]+/, '');
          file = join(repoRoot, apiDir, rel);
          if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
          if (!existsSync(file)) {
            res.statusCode = 404;
            res.setHeader('Content-Type', 'text/plain; charset=utf-8');
            res.end(
              `${url} not found: run \`pnpm docs:api\` to write the API reference to ${apiDir}/`,
            );
            return;
          }
        } else if (url.startsWith('/files/') && rawFiles.has(url.slice('/files/'.length))) {
          file = join(repoRoot, url.slice('/files/'.length));
        } else if (url.startsWith('/vendor/mermaid/')) {
          const rel = url.slice('/vendor/mermaid/'.length);
          if (mermaidFiles().includes(rel)) file = join(MERMAID_DIST, rel);
        }
        if (!file) {
          next();
          return;
        }
        res.setHeader('Content-Type', CONTENT_TYPES[extname(file)] ?? 'application/octet-stream');
        createReadStream(file).pipe(res);
      });
    },
  };
}

/**
 * Resolves Vue's packages (`vue`, `vue/server-renderer`, which every compiled page imports) from
 * the site app whatever the page's folder: the pages live all over the repository, whose root
 * has no Vue of its own, and generated pages have no folder on disk for Vite to start from.
 */
function siteDependenciesPlugin(): Plugin {
  const siteImporter = resolve(repoRoot, siteDir, 'package.json');
  return {
    name: 'hmmsim-site:site-dependencies',
    enforce: 'pre',
    resolveId(source, importer, options) {
      if (!/^vue(\/|$)/.test(source) || importer === siteImporter) return null;
      return this.resolve(source, siteImporter, { ...options, skipSelf: true });
    },
  };
}

export default defineConfig({
  title: 'hmmsim',
  description:
    'An executable model of Linux HMM at the hmm_mirror -> mmu_interval_notifier transition (v5.4 -> v5.5): the migration guide, the race viewer, the design, the benchmark and the API reference.',
  lang: 'en',
  srcDir: '../..',
  // HMMSIM_SITE_DIST builds elsewhere than .vitepress/dist (scripts/build.mjs and the browser
  // tests read it too).
  ...(process.env['HMMSIM_SITE_DIST'] ? { outDir: resolve(process.env['HMMSIM_SITE_DIST']) } : {}),
  srcExclude,
  rewrites: rewritePage,
  cleanUrls: false,
  lastUpdated: false,
  head: [
    ['meta', { name: 'theme-color', content: '#3c8772' }],
    // Inline (the build also writes /favicon.ico, for TypeDoc's pages, which link no icon).
    ['link', { rel: 'icon', type: 'image/svg+xml', href: FAVICON_DATA_URI }],
  ],
  markdown: {
    anchor: { slugify: githubSlug },
    config(md) {
      repoLinksPlugin(md, pageSet);
      mermaidPlugin(md);
    },
  },
  themeConfig: {
    nav,
    sidebar,
    outline: { level: [2, 3] },
    // Local search over the Markdown pages (the generated pages of repository files have no file
    // on disk, so the index leaves them out). The index needs the text only: its render skips
    // syntax highlighting, which would otherwise add a third of the build's time.
    search: {
      provider: 'local',
      options: {
        // Kernel names are indexed whole and by part, and a query is split on white space and
        // punctuation other than '_': `set_seq` finds the pages that say set_seq (the default
        // splits it into "set" or "seq", which match most pages), `seq` still finds
        // mmu_interval_set_seq(). VitePress sends these functions to the browser as their source
        // text, so they must not refer to anything outside themselves.
        miniSearch: {
          searchOptions: {
            tokenize: (text: string): string[] =>
              text.split(/[^\p{L}\p{N}_]+/u).filter((word) => word !== ''),
          },
          options: {
            tokenize: (text: string): string[] => {
              const tokens: string[] = [];
              for (const word of text.split(/[^\p{L}\p{N}_]+/u)) {
                if (word === '') continue;
                tokens.push(word);
                if (!word.includes('_')) continue;
                for (const part of word.split('_')) if (part !== '') tokens.push(part);
              }
              return tokens;
            },
          },
        },
        _render(src, env, md) {
          const highlight = md.options.highlight;
          md.options.highlight = null;
          try {
            const html = md.render(src, env);
            return env.frontmatter?.['search'] === false ? '' : html;
          } finally {
            md.options.highlight = highlight;
          }
        },
      },
    },
    docFooter: { prev: 'Previous', next: 'Next' },
    footer: {
      message: 'hmmsim — MIT licence. Built from the repository by <code>pnpm site:build</code>.',
    },
  },
  vite: {
    resolve: { conditions: [SOURCE_CONDITION] },
    ssr: {
      noExternal: [/^@hmmsim\//, 'hmmsim-migration-guide'],
      resolve: { conditions: [SOURCE_CONDITION], externalConditions: [SOURCE_CONDITION] },
    },
    // Keep function and class names through minification: the guide's scenarios describe a
    // pitfall by its driver class's name, and error messages name the class that threw.
    esbuild: { keepNames: true },
    worker: { format: 'es' },
    build: { chunkSizeWarningLimit: 1500 },
    plugins: [siteDependenciesPlugin(), repositoryFilesPlugin()],
  },
  // The API reference is copied under /api/ by scripts/build.mjs, which builds it alongside.
  buildEnd(site) {
    writeFileSync(resolve(site.outDir, 'favicon.ico'), faviconIco());
    for (const file of mermaidFiles()) {
      const dest = resolve(site.outDir, 'vendor/mermaid', file);
      mkdirSync(dirname(dest), { recursive: true });
      copyFileSync(join(MERMAID_DIST, file), dest);
    }
    for (const file of rawFiles) {
      const dest = resolve(site.outDir, 'files', file);
      mkdirSync(dirname(dest), { recursive: true });
      copyFileSync(resolve(repoRoot, file), dest);
    }
  },
});
