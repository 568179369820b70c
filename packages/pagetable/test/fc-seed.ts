/** fast-check seed shared by the property tests: FC_SEED=<n> replays a run; the seed is printed. */
const { FC_SEED: fromEnv } = process.env;
export const fcSeed = fromEnv !== undefined ? Number(fromEnv) : Date.now() % 2 ** 31;
console.log(
  `[pagetable tests] fast-check seed ${fcSeed} (replay: FC_SEED=${fcSeed} npx vitest run --project @hmmsim/pagetable)`,
);
