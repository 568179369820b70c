// TypeDoc plugin: names each entry module of a package after its import specifier. Packages mode
// names a package's entry points after their `exports` keys, so the main entry of a package with
// subpaths would be a module with an empty name; here they become `@hmmsim/kernel` and
// `@hmmsim/kernel/testing`.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Converter, ReflectionKind } from 'typedoc';

/** @param {import('typedoc').Application} app */
export function load(app) {
  app.converter.on(Converter.EVENT_RESOLVE_BEGIN, (context) => {
    const dir = app.options.packageDir;
    if (dir === undefined) return;
    const children = context.project.children ?? [];
    // A package with one entry point has its exports as children, not entry modules.
    if (children.length < 2 || !children.every((c) => c.kindOf(ReflectionKind.Module))) return;
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).name;
    for (const child of children) child.name = child.name === '' ? pkg : `${pkg}/${child.name}`;
  });
}
