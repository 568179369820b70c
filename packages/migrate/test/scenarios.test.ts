import { explore } from '@hmmsim/explorer';
import { describe, expect, it } from 'vitest';
import {
  concurrentDeviceFaults,
  devicePrivatePteAt,
  migrateRacesCpuWrite,
  migrateRacesMunmap,
  scenarios,
} from '../src/index.ts';

const BOUND = 2;

describe(`explorer scenarios, exhaustive with preemption bound ${BOUND}`, () => {
  it('are exported as a list', () => {
    expect(scenarios.map((s) => s.name)).toEqual([
      'migrate-vs-cpu-write',
      'migrate-vs-munmap',
      'device-page-double-fault',
    ]);
    for (const s of scenarios) expect(s.expect).toBe('pass');
  });

  it('migration to device vs a CPU write: no lost write in any interleaving', async () => {
    let onDevice = 0;
    let inRam = 0;
    let faultedBack = 0;
    const r = await explore(migrateRacesCpuWrite, {
      bound: BOUND,
      onSchedule: (s) => {
        if (devicePrivatePteAt(s.mm, s.addr) !== null) onDevice++;
        else inRam++;
        if (s.dev.stats.cpuFaults > 0) faultedBack++;
      },
    });
    expect(r.violation).toBeUndefined();
    expect(r.exhausted).toBe(true);
    // Both orders happen: the write before/while migrating (page ends on the device with the
    // write in it) and after (the write faults the page back to RAM).
    expect(onDevice).toBeGreaterThan(0);
    expect(inRam).toBeGreaterThan(0);
    expect(faultedBack).toBeGreaterThan(0);
    console.log(
      `migrate-vs-cpu-write: ${r.schedules} schedules, ${onDevice} on device, ${inRam} in RAM`,
    );
  });

  it('migration to device vs munmap: nothing leaked or freed twice', async () => {
    let migratedFirst = 0;
    let unmappedFirst = 0;
    const r = await explore(migrateRacesMunmap, {
      bound: BOUND,
      onSchedule: (s) => {
        if (s.migrateRet !== undefined && s.migrateRet > 0) migratedFirst++;
        else unmappedFirst++;
      },
    });
    expect(r.violation).toBeUndefined();
    expect(r.exhausted).toBe(true);
    expect(migratedFirst).toBeGreaterThan(0);
    expect(unmappedFirst).toBeGreaterThan(0);
    console.log(`migrate-vs-munmap: ${r.schedules} schedules`);
  });

  it('two CPU faults on one device page: one migration back, right data', async () => {
    const r = await explore(concurrentDeviceFaults, { bound: BOUND });
    expect(r.violation).toBeUndefined();
    expect(r.exhausted).toBe(true);
    console.log(`device-page-double-fault: ${r.schedules} schedules`);
  });
});
