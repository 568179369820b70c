#!/usr/bin/env node
// Layering check for the hmmsim workspace.
//
// Rules (docs/architecture.md, "Layers"):
//   1. a package may import another workspace package only from its own layer or a lower one
//      (`"hmmsim": { "layer": N }` in package.json; apps and benchmarks sit above every package
//      and nothing may import them);
//   2. every imported package (workspace or npm) is declared in the importer's package.json
//      (test files may also use the root devDependencies; `node:` builtins are always allowed);
//   3. relative imports stay inside their own package;
//   4. the package dependency graph formed by the imports has no cycle.
// Exit code 0 when clean, 1 with one line per violation otherwise.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const GROUPS = ['packages', 'apps', 'benchmarks'];
const TOP_LAYER = Number.POSITIVE_INFINITY;
const IMPORT_RE =
  /(?:^|[\s;])(?:import|export)\s[^'"`;]*?from\s*['"]([^'"]+)['"]|(?:^|[\s;(=])import\s*\(\s*['"]([^'"]+)['"]\s*\)|(?:^|[\s;])import\s*['"]([^'"]+)['"]/gm;

/** Reads one workspace member's manifest and where it sits in the layer order. */
function readMember(root, group, name) {
  const dir = join(root, group, name);
  const manifestPath = join(dir, 'package.json');
  if (!existsSync(manifestPath)) return undefined;
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  const declaredLayer = manifest.hmmsim?.layer;
  // Apps and benchmarks sit on top unless they declare a layer (shared support code such as
  // benchmarks/common does, so the others may import it).
  const layer = group === 'packages' || declaredLayer !== undefined ? declaredLayer : TOP_LAYER;
  const deps = new Set([
    ...Object.keys(manifest.dependencies ?? {}),
    ...Object.keys(manifest.devDependencies ?? {}),
    ...Object.keys(manifest.peerDependencies ?? {}),
  ]);
  return { name: manifest.name, dir, group, layer, deps };
}

/** Lists every workspace member (packages, apps, benchmarks). */
export function readWorkspace(root) {
  const members = [];
  for (const group of GROUPS) {
    const groupDir = join(root, group);
    if (!existsSync(groupDir)) continue;
    for (const name of readdirSync(groupDir).sort()) {
      const member = readMember(root, group, name);
      if (member) members.push(member);
    }
  }
  return members;
}

/** Yields the TypeScript/JavaScript source files under dir, skipping build output. */
function* sourceFiles(dir) {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir).sort()) {
    if (entry === 'node_modules' || entry === 'dist' || entry.startsWith('.')) continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) yield* sourceFiles(path);
    else if (/\.(?:[cm]?ts|[cm]?js|tsx)$/.test(entry) && !entry.endsWith('.d.ts')) yield path;
  }
}

/** Returns the module specifiers a source file imports (static, dynamic, re-exports). */
export function importsOf(text) {
  const withoutComments = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const found = [];
  for (const m of withoutComments.matchAll(IMPORT_RE)) found.push(m[1] ?? m[2] ?? m[3]);
  return found;
}

/** Maps a bare specifier to its package name (`@scope/name/sub` -> `@scope/name`). */
function packageNameOf(spec) {
  const parts = spec.split('/');
  return spec.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
}

/** Checks one import of one file; pushes violations and records workspace edges. */
function checkImport(ctx, member, file, spec) {
  const where = `${relative(ctx.root, file)}: import '${spec}'`;
  if (spec.startsWith('.')) {
    const target = resolve(dirname(file), spec);
    if (!target.startsWith(member.dir + sep)) {
      ctx.errors.push(`${where} leaves ${member.name} (relative imports stay in their package)`);
    }
    return;
  }
  if (spec.startsWith('node:')) return;
  const name = packageNameOf(spec);
  if (name === member.name) return;
  const isTest = !relative(member.dir, file).startsWith(`src${sep}`);
  const declared = member.deps.has(name) || (isTest && ctx.rootDeps.has(name));
  if (!declared) {
    ctx.errors.push(`${where}: ${name} is not declared in ${member.name}'s package.json`);
  }
  const target = ctx.byName.get(name);
  if (!target) return;
  if (target.layer > member.layer || target.layer === TOP_LAYER) {
    ctx.errors.push(
      `${where}: ${member.name} (layer ${member.layer}) may not import ${name} (layer ${target.layer}); import only from the same or a lower layer`,
    );
  }
  ctx.edges.get(member.name)?.add(name);
}

/** Finds one cycle in the package graph, or undefined. */
export function findCycle(edges) {
  const state = new Map();
  const stack = [];
  const visit = (node) => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of edges.get(node) ?? []) {
      if (state.get(next) === 'open') return [...stack.slice(stack.indexOf(next)), next];
      if (!state.has(next)) {
        const cycle = visit(next);
        if (cycle) return cycle;
      }
    }
    stack.pop();
    state.set(node, 'done');
    return undefined;
  };
  for (const node of edges.keys()) {
    if (!state.has(node)) {
      const cycle = visit(node);
      if (cycle) return cycle;
    }
  }
  return undefined;
}

/** Runs every rule over the workspace at root; returns the list of violations. */
export function checkLayers(root) {
  const rootManifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const members = readWorkspace(root);
  const ctx = {
    root,
    errors: [],
    rootDeps: new Set(Object.keys(rootManifest.devDependencies ?? {})),
    byName: new Map(members.map((m) => [m.name, m])),
    edges: new Map(members.map((m) => [m.name, new Set()])),
  };
  for (const member of members) {
    if (member.group === 'packages' && !Number.isInteger(member.layer)) {
      ctx.errors.push(`${member.name}: package.json needs "hmmsim": { "layer": <integer> }`);
      continue;
    }
    for (const file of sourceFiles(member.dir)) {
      for (const spec of importsOf(readFileSync(file, 'utf8')))
        checkImport(ctx, member, file, spec);
    }
  }
  const cycle = findCycle(ctx.edges);
  if (cycle) ctx.errors.push(`import cycle between packages: ${cycle.join(' -> ')}`);
  return ctx.errors;
}

const invokedDirectly =
  process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  const root = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..'));
  const errors = checkLayers(root);
  for (const e of errors) console.error(`layering: ${e}`);
  if (errors.length > 0) process.exit(1);
  console.log(`layering: ${readWorkspace(root).length} workspace members, no violations`);
}
