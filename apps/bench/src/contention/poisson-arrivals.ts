/**
 * Invalidation arrivals as a Poisson process of rate λ in the faulting CPU's scheduler time,
 * drawn from the kernel's seeded random source: exponential gaps of mean 1/λ.
 */
import type { Random } from '@hmmsim/kernel';
import type { ArrivalSource } from './two-cpu-policy.ts';

/** An exponential sample of rate `rate` (per ns) from a uniform [0, 1) draw. */
export function exponentialGap(random: Random, rate: number): number {
  return -Math.log(1 - random.nextFloat()) / rate;
}

/** Poisson arrivals: due once the faulting CPU's time passes the next arrival time. */
export class PoissonArrivals implements ArrivalSource {
  private next: number;

  constructor(
    private readonly random: Random,
    private readonly ratePerNs: number,
  ) {
    this.next = ratePerNs > 0 ? exponentialGap(random, ratePerNs) : Number.POSITIVE_INFINITY;
  }

  onFaultingStep(): void {}

  due(faultingNs: number): boolean {
    return faultingNs >= this.next;
  }

  consume(): void {
    this.next += exponentialGap(this.random, this.ratePerNs);
  }
}
