#!/usr/bin/env bash
# Consumer smoke test: the packages as someone who installs them from npm gets them.
#
#  1. packs every @hmmsim/* package and the `hmmsim` CLI (`pnpm pack` runs each package's prepack,
#     which builds dist/ from a clean slate: this is what a publish from a fresh clone ships);
#  2. checks each tarball: every `exports` and `bin` target is in it, so are LICENSE and (unless
#     private) README.md, no workspace: range is left, and publint --strict finds nothing;
#  3. installs the tarballs with npm into a blank ESM project outside the workspace (plus the
#     repository's own TypeScript and @types/node versions);
#  4. type-checks a file importing every entry point (each package and each subpath export), and
#     every ```ts example of every package README, under `moduleResolution: nodenext` and under
#     `bundler`, against the published .d.ts files (skipLibCheck off);
#  5. compiles them and runs them with plain `node`, which knows nothing of the `@hmmsim/source`
#     condition: every import resolves to the built dist/ (checked with import.meta.resolve), and
#     every README example's asserts must hold;
#  6. runs scripts/smoke-explore-file.sh on the same tarballs (`hmmsim explore ./file.ts`).
#
# Usage: scripts/consumer-smoke.sh [SCRATCH_DIR]   (default: a temporary folder, removed on success)
# Needs Node >= 20.19 and the npm registry (for typescript, @types/node, publint, cac, tsx,
# fast-check). Exits non-zero on the first failure; the last line is the summary.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
scratch=${1:-}
keep=1
if [ -z "$scratch" ]; then
  scratch=$(mktemp -d)
  keep=0
fi
tarballs="$scratch/tarballs"
consumer="$scratch/consumer"
pnpm=(npx -y pnpm@10.34.8)
PUBLINT_VERSION=0.3.25
started=$SECONDS
stage="start"

step() {
  stage=$*
  printf '\n== %s\n' "$*"
}
trap 'code=$?; if [ "$code" -ne 0 ]; then printf "\nconsumer-smoke: FAILED at \"%s\" (exit %d)\n" "$stage" "$code"; fi' EXIT

case "$scratch" in
"$repo" | "$repo"/*)
  echo "consumer-smoke: the scratch folder must be outside the repository ($repo)" >&2
  exit 2
  ;;
esac

# The versions the repository itself builds and type-checks with.
ts_version=$(node -p "require('$repo/node_modules/typescript/package.json').version")
types_node_version=$(node -p "require('$repo/node_modules/@types/node/package.json').version")

step "pack every package and the CLI into $tarballs (prepack builds dist/)"
rm -rf "$tarballs" "$consumer"
mkdir -p "$tarballs" "$consumer"
(cd "$repo" && "${pnpm[@]}" -r --filter './packages/*' --filter hmmsim pack \
  --pack-destination "$tarballs" >"$scratch/pack.log" 2>&1) || {
  cat "$scratch/pack.log"
  exit 1
}
ls "$tarballs"
npackages=$(find "$tarballs" -name 'hmmsim-*.tgz' ! -name 'hmmsim-[0-9]*' | wc -l)
expected=$(cd "$repo/packages" && ls -d */ | wc -l)
if [ "$npackages" -ne "$expected" ]; then
  echo "FAIL: $npackages package tarballs for $expected packages"
  exit 1
fi

step "install the tarballs with npm into a blank project ($consumer)"
cd "$consumer"
cat >package.json <<'EOF'
{ "name": "hmmsim-consumer", "version": "1.0.0", "private": true, "type": "module" }
EOF
npm install --no-audit --no-fund --loglevel=error "$tarballs"/*.tgz \
  "typescript@$ts_version" "@types/node@$types_node_version" "publint@$PUBLINT_VERSION"
node -p 'Object.keys(require("./package.json").dependencies).join(" ")'

step "check what each tarball ships"
node - "$tarballs" <<'EOF'
// Every exports/bin target present, README.md and LICENSE present, no workspace: range left.
const { existsSync, readFileSync, readdirSync } = require('node:fs');
const { join } = require('node:path');
const dirs = ['node_modules/hmmsim'].concat(
  readdirSync('node_modules/@hmmsim').map((n) => `node_modules/@hmmsim/${n}`),
);
const problems = [];
for (const dir of dirs) {
  const m = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const targets = [];
  for (const conds of Object.values(m.exports ?? {})) targets.push(...Object.values(conds));
  // The CLI is private (packed for the smoke tests, never published): no README required.
  targets.push(...Object.values(m.bin ?? {}), 'LICENSE', ...(m.private ? [] : ['README.md']));
  for (const t of targets) if (!existsSync(join(dir, t))) problems.push(`${m.name}: ${t} is missing`);
  for (const [dep, range] of Object.entries(m.dependencies ?? {}))
    if (range.startsWith('workspace:')) problems.push(`${m.name}: dependency ${dep} is ${range}`);
  if (existsSync(join(dir, 'test'))) problems.push(`${m.name}: ships test/`);
  console.log(`${m.name}: ${targets.length} targets present`);
}
if (problems.length > 0) {
  console.log(problems.join('\n'));
  process.exit(1);
}
EOF
for t in "$tarballs"/*.tgz; do
  node_modules/.bin/publint run "$t" --strict --level warning
done

step "write a file importing every entry point, and the README examples"
mkdir -p src/examples
node - "$repo" <<'EOF'
// src/imports.ts: every package and subpath export, imported by name; at run time each must
// resolve into dist/. src/examples/<package>-<n>.ts: the ```ts blocks of the package READMEs.
const { readFileSync, readdirSync, writeFileSync, existsSync } = require('node:fs');
const { join } = require('node:path');
const repo = process.argv[2];
const specs = [];
let examples = 0;
for (const name of readdirSync(join(repo, 'packages')).sort()) {
  const dir = join(repo, 'packages', name);
  const m = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  for (const sub of Object.keys(m.exports)) specs.push(sub === '.' ? m.name : `${m.name}/${sub.slice(2)}`);
  const readme = join(dir, 'README.md');
  if (!existsSync(readme)) continue;
  const blocks = [...readFileSync(readme, 'utf8').matchAll(/^```ts\n([\s\S]*?)^```$/gm)];
  blocks.forEach((b, i) => {
    writeFileSync(`src/examples/${name}-${i + 1}.ts`, b[1]);
    examples++;
  });
}
const lines = specs.map((s, i) => `import * as m${i} from '${s}';`);
lines.push(
  '',
  `const entries: ReadonlyArray<readonly [string, object]> = [`,
  ...specs.map((s, i) => `  ['${s}', m${i}],`),
  '];',
  'for (const [spec, ns] of entries) {',
  '  const url = import.meta.resolve(spec);',
  "  if (!url.includes('/node_modules/') || !url.includes('/dist/')) {",
  '    throw new Error(`${spec} resolved to ${url}, not to the installed dist/`);',
  '  }',
  '  const count = Object.keys(ns).length;',
  '  if (count === 0) throw new Error(`${spec} exports nothing`);',
  '  console.log(`${spec}: ${count} exports from ${url.slice(url.indexOf("node_modules/"))}`);',
  '}',
  '',
);
writeFileSync('src/imports.ts', lines.join('\n'));
writeFileSync('entry-points.txt', `${specs.length}\n${examples}\n`);
EOF
nentries=$(sed -n 1p entry-points.txt)
nexamples=$(sed -n 2p entry-points.txt)
echo "$nentries entry points, $nexamples README examples"
if [ "$nexamples" -eq 0 ]; then
  echo "FAIL: no README example found"
  exit 1
fi

cat >tsconfig.base.json <<'EOF'
{
  "compilerOptions": {
    "target": "ES2023",
    "lib": ["ES2023"],
    "types": ["node"],
    "strict": true,
    "skipLibCheck": false,
    "verbatimModuleSyntax": true,
    "isolatedModules": true
  },
  "include": ["src"]
}
EOF
cat >tsconfig.nodenext.json <<'EOF'
{
  "extends": "./tsconfig.base.json",
  "compilerOptions": {
    "module": "NodeNext",
    "moduleResolution": "NodeNext",
    "rootDir": "src",
    "outDir": "out"
  }
}
EOF
cat >tsconfig.bundler.json <<'EOF'
{
  "extends": "./tsconfig.base.json",
  "compilerOptions": { "module": "ESNext", "moduleResolution": "Bundler", "noEmit": true }
}
EOF

step "type-check under moduleResolution bundler"
node_modules/.bin/tsc -p tsconfig.bundler.json
echo "ok"

step "type-check and compile under moduleResolution nodenext"
node_modules/.bin/tsc -p tsconfig.nodenext.json
echo "ok"

step "run with plain node: every entry point from dist/"
node out/imports.js

step "run every README example with plain node"
ran=0
for f in out/examples/*.js; do
  printf '$ node %s\n' "$f"
  node "$f" >"$f.log" 2>&1 || {
    cat "$f.log"
    echo "FAIL: $f"
    exit 1
  }
  ran=$((ran + 1))
done
echo "$ran README examples ran, every assert held"

step "hmmsim explore ./file.ts from the same tarballs"
explore_log="$scratch/explore.log"
SMOKE_REUSE_TARBALLS=1 TARBALLS="$tarballs" bash "$repo/scripts/smoke-explore-file.sh" \
  "$scratch/explore" | tee "$explore_log"
explore_checks=$(sed -n 's/^smoke-explore-file: \([0-9]*\) checks passed$/\1/p' "$explore_log")

trap - EXIT
if [ "$keep" = 0 ]; then rm -rf "$scratch"; fi
printf '\nconsumer-smoke: PASS — %d package tarballs + the CLI packed and checked (publint --strict), %d entry points type-checked under nodenext and bundler and loaded from dist/, %d README examples ran, %s explore checks (%ds)\n' \
  "$npackages" "$nentries" "$ran" "${explore_checks:-0}" $((SECONDS - started))
