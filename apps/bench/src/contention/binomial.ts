/**
 * The 95% acceptance interval of a predicted probability: the central quantiles of
 * Binomial(n, p), from the exact distribution (log-space pmf, summed from 0).
 */

/** ln Γ(x) for x > 0 (Lanczos, g = 7, 9 terms; ~15 significant digits). */
export function logGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
    -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
    1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let a = c[0]!;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** P(X = k) for X ~ Binomial(n, p). */
export function binomialPmf(n: number, k: number, p: number): number {
  if (p <= 0) return k === 0 ? 1 : 0;
  if (p >= 1) return k === n ? 1 : 0;
  const logC = logGamma(n + 1) - logGamma(k + 1) - logGamma(n - k + 1);
  return Math.exp(logC + k * Math.log(p) + (n - k) * Math.log1p(-p));
}

/** [lo, hi]: the smallest k with P(X <= k) >= alpha/2 and with P(X <= k) >= 1 - alpha/2. */
export function binomialInterval(n: number, p: number, alpha = 0.05): { lo: number; hi: number } {
  let cdf = 0;
  let lo = -1;
  for (let k = 0; k <= n; k++) {
    cdf += binomialPmf(n, k, p);
    if (lo < 0 && cdf >= alpha / 2) lo = k;
    if (cdf >= 1 - alpha / 2) return { lo, hi: k };
  }
  return { lo: Math.max(lo, 0), hi: n };
}
