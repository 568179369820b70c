#!/usr/bin/env node
// `pnpm site:build`: the whole site into apps/site/.vitepress/dist.
//   1. the API reference (`pnpm docs:api`, TypeDoc into docs/api) and the VitePress build run side
//      by side (each mostly uses one core);
//   2. docs/api is copied under /api/;
//   3. every internal link of the output is checked (scripts/check-links.mjs).
// Prints how long each part took and the output's size; exits non-zero when any part fails.
// HMMSIM_SITE_DIST=DIR writes the site to DIR instead of .vitepress/dist.

import { spawn } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vitepress';
import { checkLinks } from './check-links.mjs';

const siteRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const repoRoot = resolve(siteRoot, '../..');
const outDir = process.env.HMMSIM_SITE_DIST
  ? resolve(process.env.HMMSIM_SITE_DIST)
  : join(siteRoot, '.vitepress/dist');
const apiDir = join(repoRoot, 'docs/api');

/** Seconds since start, one decimal. */
function secondsSince(start) {
  return ((performance.now() - start) / 1000).toFixed(1);
}

/** Total size in bytes of the files under dir. */
function sizeOf(dir) {
  let total = 0;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const stat = statSync(path);
    total += stat.isDirectory() ? sizeOf(path) : stat.size;
  }
  return total;
}

/**
 * How to run pnpm: `pnpm` when it is on the PATH (as in a `pnpm site:build` run), otherwise the
 * pinned version through npx, as the README says (`npx -y pnpm@<packageManager version>`).
 */
function pnpmCommand() {
  const onPath = (process.env.PATH ?? '')
    .split(delimiter)
    .some((dir) => dir && existsSync(join(dir, 'pnpm')));
  if (onPath) return ['pnpm', []];
  const manifest = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
  return ['npx', ['-y', manifest.packageManager]];
}

/** Runs `pnpm docs:api` with its output captured; resolves with the seconds it took. */
function buildApiReference() {
  const start = performance.now();
  const [command, prefix] = pnpmCommand();
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, [...prefix, 'docs:api'], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolvePromise(secondsSince(start));
      else reject(new Error(`pnpm docs:api failed (exit ${code}):\n${output}`));
    });
  });
}

const start = performance.now();
const vitepressStart = performance.now();
const [apiSeconds, vitepressSeconds] = await Promise.all([
  buildApiReference(),
  build(siteRoot).then(() => secondsSince(vitepressStart)),
]);
rmSync(join(outDir, 'api'), { recursive: true, force: true });
cpSync(apiDir, join(outDir, 'api'), { recursive: true });
const { pages, broken } = checkLinks(outDir);
for (const line of broken) console.error(`broken link: ${line}`);
if (broken.length > 0) {
  console.error(`site:build: ${broken.length} broken link(s) in ${pages} pages`);
  process.exit(1);
}
const mib = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
console.log(
  `site:build: ${pages} pages, every internal link resolves; ${secondsSince(start)} s in all ` +
    `(VitePress ${vitepressSeconds} s, API reference ${apiSeconds} s, side by side); ` +
    `output ${mib(sizeOf(outDir))} in ${relativeOut()} (API reference ${mib(sizeOf(join(outDir, 'api')))})`,
);

/** The output folder, relative to the repository root when inside it. */
function relativeOut() {
  return outDir.startsWith(`${repoRoot}/`) ? outDir.slice(repoRoot.length + 1) : outDir;
}
