/**
 * What every hmmsim benchmark shares: running a tinybench suite into rows, summaries of repeated
 * runs, JS memory measurement, the raw-fill limit, anonymous-mapping worlds, and the
 * single-page-invalidation layout.
 */
export * from './anon-mapping.ts';
export * from './js-bytes.ts';
export * from './raw-fill.ts';
export * from './repeated.ts';
export * from './single-page-invalidation.ts';
export * from './stats.ts';
export * from './suite.ts';
