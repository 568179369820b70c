#!/usr/bin/env bash
# Proves that turbo's cache follows the source of workspace dependencies: packages are consumed
# source-first, so a change to @hmmsim/kernel's source must make @hmmsim/pagetable's test and
# typecheck tasks run again (through the `transit` task of turbo.json), and an env var the tests
# read (HMMSIM_SEED) must reach them and be part of the hash. Runs in a scratch clone of HEAD.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
pnpm=(npx -y pnpm@10.34.8)
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
git clone -q "$root" "$scratch/repo"
cd "$scratch/repo"
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1
"${pnpm[@]}" install --frozen-lockfile --offline >/dev/null 2>&1 || "${pnpm[@]}" install --frozen-lockfile >/dev/null

run() { # run the pagetable tasks; print one line per task: "<task> hit|miss"
  "${pnpm[@]}" exec turbo run typecheck test --filter=@hmmsim/pagetable --output-logs=hash-only 2>&1 |
    sed -n 's/^\(@hmmsim\/pagetable:[a-z]*\): cache \(hit\|miss\).*/\1 \2/p' | sort
}
expect() { # expect "<label>" "<want>" "<got>"
  if [ "$2" != "$3" ]; then
    echo "check-turbo-cache: $1: expected"; echo "$2" | sed 's/^/  /'; echo "got"; echo "$3" | sed 's/^/  /'
    exit 1
  fi
  echo "check-turbo-cache: $1: ok"
}
miss=$'@hmmsim/pagetable:test miss\n@hmmsim/pagetable:typecheck miss'
hit=$'@hmmsim/pagetable:test hit\n@hmmsim/pagetable:typecheck hit'
expect "first run executes" "$miss" "$(run)"
expect "second run replays from the cache" "$hit" "$(run)"
echo "// cache check: a change to a dependency's source" >> packages/kernel/src/errno.ts
expect "after a change to @hmmsim/kernel's source, the dependent pagetable tasks run again" "$miss" "$(run)"
expect "and are cached again after that" "$hit" "$(run)"
got="$(HMMSIM_SEED=5 run | grep ':test ')"
expect "HMMSIM_SEED=5 is part of the test task's hash" "@hmmsim/pagetable:test miss" "$got"
echo "check-turbo-cache: all checks passed"
