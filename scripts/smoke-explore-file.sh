#!/usr/bin/env bash
# Consumer smoke test of `hmmsim explore ./my-scenario.ts`; CI runs it from scripts/consumer-smoke.sh.
#
# Packs the `hmmsim` CLI and the @hmmsim/* packages it depends on into tarballs (their prepack
# builds dist/), installs them with npm into a scratch folder outside the repository (a plain
# `npm init` folder: CommonJS, no TypeScript set-up), writes scenario files there and runs the
# installed command on them: clean and violating scenarios, --export, --replay, --mermaid, a
# scenario whose setup ignores `sched` (ScenarioError), a file that is not a scenario, the
# explorer README's "Check your own code" file, and files run from other folders.
#
# Usage: scripts/smoke-explore-file.sh [SCRATCH_DIR]   (default /tmp/scratch; TARBALLS=/tmp/tarballs)
# With SMOKE_REUSE_TARBALLS=1 it installs the tarballs already in TARBALLS instead of packing them.
# Needs Node >= 20.19 and network access to the npm registry (for cac, tsx, fast-check).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
scratch=${1:-/tmp/scratch}
tarballs=${TARBALLS:-/tmp/tarballs}
elsewhere="${scratch}-elsewhere"
pnpm=(npx -y pnpm@10.34.8)
# The packages the CLI needs at run time, lowest layer first.
packages=(kernel explorer pagetable mm mmu-notifier hmm-range migrate hmm-mirror dma dmirror)
checks=0

step() { printf '\n== %s\n' "$*"; }

# run WANT_EXIT LINES CMD...: run CMD, show at most LINES lines of its output, check the exit code.
run() {
  local want=$1 lines=$2
  shift 2
  printf '$ %s\n' "$*"
  local out code=0
  out=$("$@" 2>&1) || code=$?
  printf '%s\n' "$out" | head -n "$lines"
  local total
  total=$(printf '%s\n' "$out" | wc -l)
  if [ "$total" -gt "$lines" ]; then printf '  [... %d more lines]\n' $((total - lines)); fi
  if [ "$code" -ne "$want" ]; then
    printf 'FAIL: exit %d, expected %d\n' "$code" "$want"
    exit 1
  fi
  printf '(exit %d, as expected)\n' "$code"
  checks=$((checks + 1))
}

# hmmsim ARGS...: the installed command (npx --no: never fetch it from the registry).
hmmsim() { npx --no hmmsim "$@"; }

if [ "${SMOKE_REUSE_TARBALLS:-0}" = 1 ]; then
  step "reuse the tarballs in $tarballs"
else
  step "pack into $tarballs (each package's prepack builds the dist/ it ships)"
  rm -rf "$tarballs"
  mkdir -p "$tarballs"
  for p in "${packages[@]}"; do
    (cd "$repo/packages/$p" && "${pnpm[@]}" pack --pack-destination "$tarballs" >/dev/null)
  done
  (cd "$repo/apps/cli" && "${pnpm[@]}" pack --pack-destination "$tarballs" >/dev/null)
fi
ls "$tarballs"

step "install the tarballs with npm into $scratch"
rm -rf "$scratch" "$elsewhere"
mkdir -p "$scratch" "$elsewhere"
cd "$scratch"
npm init -y >/dev/null
npm install --no-audit --no-fund --loglevel=error "$tarballs"/*.tgz
node -e 'const p = require("./package.json"); console.log("type:", p.type ?? "(none)", "| dependencies:", Object.keys(p.dependencies).join(" "))'

step "write scenarios"
cat >counter.ts <<'EOF'
// Two CPUs increment a shared counter: racy by default, under a mutex as `fixed`.
import { defineScenario, type Scenario } from '@hmmsim/explorer';
import { Mutex, mutexLock, mutexUnlock, type Scheduler } from '@hmmsim/kernel';

interface Counter {
  value: number;
  readonly lock: Mutex;
}

function counter(name: string, locked: boolean): Scenario<Counter> {
  async function increment(s: Counter, sched: Scheduler): Promise<void> {
    if (locked) await mutexLock(s.lock);
    await sched.point({ kind: 'counter.load', label: 'value' });
    const v = s.value;
    await sched.point({ kind: 'counter.store', label: 'value' });
    s.value = v + 1;
    if (locked) mutexUnlock(s.lock);
  }
  return defineScenario<Counter>({
    name,
    description: `two increments${locked ? ' under a mutex' : ''}`,
    setup: (sched) => ({ value: 0, lock: new Mutex(sched, 'counter_lock') }),
    tasks: [
      { name: 'cpu0', run: increment },
      { name: 'cpu1', run: increment },
    ],
    finalCheck(s) {
      if (s.value !== 2) throw new Error(`lost update: value is ${s.value}; expected 2`);
    },
  });
}

export default counter('counter-racy', false);
export const fixed = counter('counter-fixed', true);
EOF
cat >own-scheduler.ts <<'EOF'
// The classic mistake: the state is built on a scheduler of its own, not on `sched`.
import { createScheduler, Mutex, mutexLock, mutexUnlock, type Scheduler } from '@hmmsim/kernel';

export default {
  name: 'own-scheduler',
  description: 'setup ignores sched',
  setup: (_sched: Scheduler) => {
    const own = createScheduler();
    return { own, lock: new Mutex(own, 'lock'), value: 0 };
  },
  tasks: ['cpu0', 'cpu1'].map((name) => ({
    name,
    async run(s: { own: Scheduler; lock: Mutex; value: number }) {
      await mutexLock(s.lock);
      await s.own.point({ kind: 'counter.add', label: name });
      s.value++;
      mutexUnlock(s.lock);
    },
  })),
};
EOF
cat >not-a-scenario.ts <<'EOF'
export default { name: 'half-done', tasks: [] };
EOF
# The explorer README's worked example, exactly as published.
node -e '
  const md = require("fs").readFileSync(process.argv[1], "utf8");
  const section = md.slice(md.indexOf("## Check your own code"));
  process.stdout.write(/^```ts\n([\s\S]*?)^```$/m.exec(section)[1]);
' "$repo/packages/explorer/README.md" >my-driver.ts
mkdir -p sub
sed 's/counter-racy/elsewhere-racy/; s/counter-fixed/elsewhere-fixed/' counter.ts >"$elsewhere/e.ts"
ls "$scratch" "$elsewhere"

step "explore the scenario files with the installed command"
run 1 14 hmmsim explore ./counter.ts --bound 1
run 0 5 hmmsim explore ./counter.ts --export fixed
run 0 5 hmmsim explore ./counter.ts --export fixed --strategy pct --runs 200 --seed 7
run 1 4 hmmsim explore ./counter.ts --replay 1.1.2 --mermaid counter.mmd
test -s counter.mmd && head -n 3 counter.mmd
run 2 4 hmmsim explore ./counter.ts --export racey
run 2 4 hmmsim explore ./not-a-scenario.ts
run 2 4 hmmsim explore ./own-scheduler.ts
run 0 5 hmmsim explore ./my-driver.ts
run 1 8 hmmsim explore ./my-driver.ts --export hasty --bound 1
run 1 3 hmmsim explore ./my-driver.ts --export hasty --replay 2x3.1 --mermaid hasty.mmd
test -s hasty.mmd

step "from other folders"
pushd sub >/dev/null
run 0 3 hmmsim explore ../counter.ts --export fixed
popd >/dev/null
# A file outside the project (no node_modules beside it): @hmmsim/* comes from the CLI's install.
run 1 3 hmmsim explore "$elsewhere/e.ts" --bound 1
pushd "$elsewhere" >/dev/null
run 0 3 "$scratch/node_modules/.bin/hmmsim" explore ./e.ts --export fixed
popd >/dev/null

step "the rest of the installed CLI"
run 0 4 hmmsim explore --list
run 1 2 hmmsim bench

printf '\nsmoke-explore-file: %d checks passed\n' "$checks"
