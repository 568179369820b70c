/**
 * Where a run happened: the machine (os), the Node version, and the git commit of the work tree
 * with whether it had uncommitted changes (null outside a git checkout).
 */
import { execFileSync } from 'node:child_process';
import { arch, cpus, platform, totalmem } from 'node:os';
import type { Environment } from '../results/schema.ts';

/** `git args` in `cwd`, trimmed; null when git fails. */
function git(args: readonly string[], cwd: string): string | null {
  try {
    return execFileSync('git', args, {
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return null;
  }
}

/** The environment of this process, with the commit of the checkout containing `cwd`. */
export function readEnvironment(cwd: string = process.cwd()): Environment {
  const commit = git(['rev-parse', 'HEAD'], cwd);
  const status = commit === null ? null : git(['status', '--porcelain'], cwd);
  const list = cpus();
  return {
    machine: {
      platform: platform(),
      arch: arch(),
      cpus: Math.max(1, list.length),
      cpuModel: list[0]?.model.trim() ?? 'unknown',
      totalMemoryBytes: totalmem(),
    },
    node: process.version,
    commit: commit !== null && /^[0-9a-f]{7,40}$/.test(commit) ? commit : null,
    dirty: status === null ? null : status.length > 0,
  };
}
