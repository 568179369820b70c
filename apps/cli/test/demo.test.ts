import { describe, expect, it } from 'vitest';
import { runDemo } from '../src/commands/demo.ts';
import { buildCli } from '../src/main.ts';

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

  it('runs through the CLI and reports its exit code', async () => {
    const lines: string[] = [];
    let exitCode = -1;
    const cli = buildCli(
      (l) => lines.push(l),
      (c) => {
        exitCode = c;
      },
    );
    cli.parse(['node', 'hmmsim', 'demo'], { run: false });
    await cli.runMatchedCommand();
    expect(exitCode).toBe(0);
    expect(lines[0]).toContain('hmmsim demo');
  });
});
