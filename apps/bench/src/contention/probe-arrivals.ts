/**
 * One invalidation at a chosen step of the faulting CPU: the probe that finds which steps of a
 * driver's fault loop lie inside its read section (an invalidation there makes it retry).
 */
import type { ArrivalSource } from './two-cpu-policy.ts';

/** Due exactly once, just before the faulting CPU's `at`-th step. */
export class ProbeArrival implements ArrivalSource {
  private pending = false;

  constructor(private readonly at: number) {}

  onFaultingStep(_faultingNs: number, n: number): void {
    if (n === this.at) this.pending = true;
  }

  due(): boolean {
    return this.pending;
  }

  consume(): void {
    this.pending = false;
  }
}
