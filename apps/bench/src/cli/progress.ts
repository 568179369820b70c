/**
 * Progress of a run: a live bar when stderr is a terminal (cli-progress), one plain line per
 * step otherwise (logs, CI).
 */
import cliProgress from 'cli-progress';
import type { ProgressSink } from '../run/run-cases.ts';

/** One line per step: '[ 3/40] label (12.3 s)'. */
export function lineProgress(err: (line: string) => void, now: () => number): ProgressSink {
  let total = 0;
  let done = 0;
  let t0 = 0;
  return {
    start(n) {
      total = n;
      done = 0;
      t0 = now();
    },
    step(label) {
      done++;
      const width = String(total).length;
      const secs = ((now() - t0) / 1000).toFixed(1);
      err(`[${String(done).padStart(width)}/${total}] ${label} (${secs} s)`);
    },
    stop() {},
  };
}

/** A live bar on `stream` (a TTY). */
export function barProgress(stream: NodeJS.WriteStream): ProgressSink {
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: 'hmmsim bench [{bar}] {value}/{total} {eta_formatted} left  {label}',
      hideCursor: true,
      clearOnComplete: true,
      etaBuffer: 20,
    },
    cliProgress.Presets.shades_classic,
  );
  return {
    start: (n) => bar.start(n, 0, { label: '' }),
    step: (label) => bar.increment(1, { label }),
    stop: () => bar.stop(),
  };
}
