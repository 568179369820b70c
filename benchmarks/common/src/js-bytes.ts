/**
 * JS memory measurement: heap + ArrayBuffer bytes in use after full garbage collections.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let gc: (() => void) | undefined;

/** JS heap + ArrayBuffer bytes in use after two full GCs (enables --expose-gc on first use). */
export function jsBytes(): number {
  if (gc === undefined) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}
