/**
 * Chapter 1's claims: on the v5.4 API the seed race is found with one preemption, and the page
 * the device keeps is then another process's; the same driver code on the compat shim is clean
 * under every schedule with at most two preemptions.
 */
import { describe, expect, it } from 'vitest';
import { findEntry } from '../src/catalog.ts';
import { exploreBounded, minimalTrace, minimalViolation } from '../src/harness/check.ts';

const entry = findEntry('why-seed-race');

describe('chapter 1: the seed race', () => {
  it('legacy: one preemption, a whole munmap between the fault and the check', async () => {
    const [scenario] = entry!.scenarios('legacy');
    const r = await exploreBounded(scenario!);
    const v = minimalViolation(r);
    expect(v.kind).toBe('invariant');
    expect(v.preemptions).toBe(1);
    expect(v.message).toMatch(
      /stale device mapping: amdgpu-vm page 1 .* pfn (\d+) now belongs to mm\d+ \(another process\)/,
    );
    const trace = minimalTrace(r);
    const order = [
      /amdgpu\.get_user_pages hmm_range_fault=2/,
      /preempted -> T1/,
      /invalidate_range_start UNMAP/,
      /hmm\.invalidate_end UNMAP .* notifiers=0/,
      /mm\.fault handle_mm_fault \[mm3\]/,
      /hmm_range_valid=true/,
      /amdgpu\.publish GPU VM rw/,
    ].map((re) => trace.search(re));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });

  it('shim: the same driver is clean, every schedule within 2 preemptions explored', async () => {
    const [scenario] = entry!.scenarios('shim');
    const r = await exploreBounded(scenario!);
    expect(r.violation?.message).toBeUndefined();
    expect(r.exhausted).toBe(true);
  });
});
