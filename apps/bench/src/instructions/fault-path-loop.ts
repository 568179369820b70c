/**
 * The loop measured by `pnpm --filter hmmsim-bench instructions`: `hmm_range_fault` faulting the
 * 512 pages of an empty range in (read faults, 4 KiB pages, no explorer), then unmapping them
 * again (emptyFaultWorld), `argv[2]` times. Run under callgrind twice with different counts, the
 * difference is the instructions of the extra iterations alone.
 */
import { bareRange, bareWalk } from '../throughput/bare-walk.ts';
import { createFaultWorld, emptyFaultWorld } from '../throughput/fault-world.ts';

const iterations = Number(process.argv[2] ?? 100);
if (!Number.isSafeInteger(iterations) || iterations < 1) {
  throw new Error(`fault-path-loop: iterations is ${process.argv[2]}; expected a positive integer`);
}
const world = await createFaultWorld(512, '4k');
const range = bareRange(world);
for (let i = 0; i < iterations; i++) {
  await emptyFaultWorld(world);
  await bareWalk(world, range, 'fault-read');
}
