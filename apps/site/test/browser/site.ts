// Where the built site lives, how it is built, and a static server for it that resolves URLs the
// way `vitepress preview` (sirv with `.html` extensions) and ordinary static hosts do.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** apps/site. */
export const SITE_DIR = fileURLToPath(new URL('../../', import.meta.url));
/** The repository root. */
export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
/** Screenshots, figures and failure dumps of the browser tests (gitignored). */
export const RESULTS_DIR = join(SITE_DIR, 'test-results');

/** VitePress's build output (its default outDir; HMMSIM_SITE_DIST overrides it). */
export function distDir(): string {
  return process.env['HMMSIM_SITE_DIST'] ?? join(SITE_DIR, '.vitepress', 'dist');
}

/** The Chromium the tests drive (Debian's package; HMMSIM_CHROMIUM overrides it). */
export function chromiumPath(): string {
  return process.env['HMMSIM_CHROMIUM'] ?? '/usr/bin/chromium';
}

/** What one build took. */
export interface BuildResult {
  readonly command: string;
  readonly ms: number;
  readonly output: string;
}

/**
 * Builds the site as a developer does (`pnpm site:build` from the root), timing it. Rejects with
 * the build's output when it fails or runs past `timeoutMs`.
 */
export function buildSite(timeoutMs = 5 * 60_000): Promise<BuildResult> {
  const rootManifest = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
    scripts?: Record<string, string>;
  };
  const args =
    rootManifest.scripts?.['site:build'] !== undefined
      ? ['-y', 'pnpm@10.34.8', 'run', 'site:build']
      : ['-y', 'pnpm@10.34.8', '--filter', 'hmmsim-site', 'run', 'build'];
  const command = `npx ${args.join(' ')}`;
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn('npx', args, {
      cwd: REPO_ROOT,
      env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString();
    });
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new Error(`${command} ran past ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const ms = performance.now() - started;
      if (code === 0) resolve({ command, ms, output });
      else reject(new Error(`${command} exited with ${code}:\n${output}`));
    });
  });
}

/** Every file under dir, as paths relative to it with '/' separators. */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, entry.name);
      if (entry.isDirectory()) walk(p);
      else out.push(relative(dir, p).split(sep).join('/'));
    }
  };
  walk(dir);
  return out.sort();
}

/**
 * The site's base path ('/' or '/name/'), read from the built home page: VitePress writes every
 * asset URL as `<base>assets/…`.
 */
export function siteBase(dist: string): string {
  const html = readFileSync(join(dist, 'index.html'), 'utf8');
  const m = /(?:src|href)="(\/[^"]*?)assets\//.exec(html);
  return m?.[1] ?? '/';
}

const MIME: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.xml': 'application/xml',
  '.wasm': 'application/wasm',
  '.map': 'application/json; charset=utf-8',
};

/**
 * The file a URL path names in dist, or undefined: the path itself, then `<path>.html`, then
 * `<path>/index.html` — the lookup order of sirv (VitePress's preview server) and of GitHub Pages.
 * `pathname` is already stripped of the base and decoded.
 */
export function resolveInDist(dist: string, pathname: string): string | undefined {
  const clean = normalize(pathname).replace(/^(\.\.[/\\])+/, '');
  const candidates = [clean, `${clean}.html`, join(clean, 'index.html')];
  for (const c of candidates) {
    const file = join(dist, c);
    if (!file.startsWith(dist)) continue;
    if (existsSync(file) && statSync(file).isFile()) return file;
  }
  return undefined;
}

/** A running static server. */
export interface StaticServer {
  /** The site's home URL (origin + base). */
  readonly url: string;
  readonly origin: string;
  readonly base: string;
  close(): Promise<void>;
}

/** Serves dist under its base on 127.0.0.1 at a free port; unknown paths get 404.html with 404. */
export async function serveDist(dist: string): Promise<StaticServer> {
  const base = siteBase(dist);
  const notFound = existsSync(join(dist, '404.html'))
    ? readFileSync(join(dist, '404.html'))
    : Buffer.from('not found');
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    let pathname: string;
    try {
      pathname = decodeURIComponent(url.pathname);
    } catch {
      pathname = url.pathname;
    }
    const file = pathname.startsWith(base)
      ? resolveInDist(dist, `/${pathname.slice(base.length)}`)
      : undefined;
    if (file === undefined) {
      res.writeHead(404, { 'content-type': 'text/html; charset=utf-8' });
      res.end(notFound);
      return;
    }
    res.writeHead(200, {
      'content-type': MIME[extname(file)] ?? 'application/octet-stream',
      'cache-control': 'no-cache',
    });
    res.end(readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  return {
    url: `${origin}${base}`,
    origin,
    base,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
