import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runDemo } from '../src/commands/demo.ts';
import { runCli } from '../src/main.ts';

describe('hmmsim demo', () => {
  it('prints each operation with the invalidations Linux fires for it, and leaks nothing', async () => {
    const lines: string[] = [];
    const code = await runDemo((l) => lines.push(l));
    const text = lines.join('\n');
    expect(code).toBe(0);
    expect(text).toMatch(/fork\(\).*\n\s+parent MMU_NOTIFY_PROTECTION_PAGE/);
    expect(text).toMatch(/child writes page 0.*\n\s+child {2}MMU_NOTIFY_CLEAR/);
    expect(text).toMatch(/mprotect.*\n\s+parent MMU_NOTIFY_PROTECTION_VMA/);
    expect(text).toMatch(/munmap.*\n\s+parent MMU_NOTIFY_UNMAP/);
    expect(text).toMatch(
      /child exits.*\n\s+child {2}mmu_notifier_release\n\s+child {2}MMU_NOTIFY_UNMAP\s+\[0x0, ULONG_MAX\)/,
    );
    expect(text).toContain('parent page 0 = "parent page 0", child page 0 = "child page 0"');
    expect(text).toContain('page 5 reads back "parent page 5"');
    expect(text).toMatch(/\(0 leaked\)$/);
  });

  it('runs through the CLI and reports its exit code, with the race summary', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(['demo'], {
      out: (l) => void out.push(l),
      err: (l) => void err.push(l),
    });
    expect(code).toBe(0);
    expect(err).toEqual([]);
    expect(out[0]).toContain('hmmsim demo');
    expect(out.join('\n')).toMatch(
      /^ {2}interval\s+0 violations in \d+ schedules \(verified over all interleavings\) — expected clean/m,
    );
    // It ends by pointing a driver author at the migration guide, a file that exists.
    expect(out.slice(-3).join(' ')).toContain('apps/migration-guide/guide/README.md');
    const readme = new URL('../../migration-guide/guide/README.md', import.meta.url);
    expect(existsSync(readme)).toBe(true);
  });
});
