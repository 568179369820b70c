/**
 * What migrate_vma_setup() collects and how it announces the collect invalidation, per API
 * generation of `struct migrate_vma`:
 * - '5.4' (the 2019 code, the default): no owner fields; system pages and the device-private
 *   pages of **any** owner are collected, under MMU_NOTIFY_CLEAR with a null vma;
 * - '5.7' (v5.7–v5.8, `src_owner`): set → only device-private pages whose pgmap owner is it (no
 *   system page, no zero page); unset → system pages only (device-private pages only of a pgmap
 *   whose owner is null too, which v5.7 memremap_pages refuses to create); still MMU_NOTIFY_CLEAR;
 * - '5.9' (`pgmap_owner` + `flags`): MIGRATE_VMA_SELECT_SYSTEM selects system pages,
 *   MIGRATE_VMA_SELECT_DEVICE_PRIVATE the device-private pages whose pgmap owner is `pgmapOwner`;
 *   empty slots only in anonymous vmas; the collect invalidation is MMU_NOTIFY_MIGRATE with the
 *   vma and `migratePgmapOwner = pgmapOwner`, so the owner's mirror can skip it.
 * Holes and `pte_none` stay selectable in every generation.
 */
import { checkUlong, InvalidArgumentError } from '@hmmsim/kernel';
import type { MigrateVma } from './migrate-vma.ts';

/** Collect system (RAM) pages and the zero page. Mirrors include/linux/migrate.h:MIGRATE_VMA_SELECT_SYSTEM (v5.9). */
export const MIGRATE_VMA_SELECT_SYSTEM = 1;
/** Collect device-private pages of `pgmapOwner`. Mirrors include/linux/migrate.h:MIGRATE_VMA_SELECT_DEVICE_PRIVATE (v5.9). */
export const MIGRATE_VMA_SELECT_DEVICE_PRIVATE = 2;

const SELECT_ALL = MIGRATE_VMA_SELECT_SYSTEM | MIGRATE_VMA_SELECT_DEVICE_PRIVATE;

/** A `struct migrate_vma` generation: '5.4' (to v5.6), '5.7' (v5.7–v5.8), '5.9'. */
export type MigrateVmaVersion = '5.4' | '5.7' | '5.9';

/** Every generation, oldest first. Model helper (for tests and listings). */
export const MIGRATE_VMA_VERSIONS: readonly MigrateVmaVersion[] = Object.freeze([
  '5.4',
  '5.7',
  '5.9',
]);

/** Options of migrateVmaSetup() (model-only; the kernel has one behaviour per build). */
export interface MigrateVmaSetupOptions {
  /** Default '5.4' (the 2019 behaviour). */
  readonly version?: MigrateVmaVersion;
}

/** Which device-private pages collect takes: none, those whose pgmap owner is `owner`, any. */
export type DevicePrivateSelect = 'none' | 'owner' | 'any';

/** The collect decisions of one migrate_vma_setup() call, fixed before the walk. */
export interface MigrateVmaSelect {
  /** Present PTEs (normal pages and the zero page) are collected. */
  readonly system: boolean;
  readonly devicePrivate: DevicePrivateSelect;
  /** Compared by identity with the page's pgmap owner when `devicePrivate` is 'owner'. */
  readonly owner: unknown;
  /** Holes and pte_none become empty MIGRATE slots only in an anonymous vma (v5.9). */
  readonly anonymousHolesOnly: boolean;
  /** The collect invalidation is MMU_NOTIFY_MIGRATE with the vma and `migratePgmapOwner` (v5.9). */
  readonly notifyMigrate: boolean;
  /** `migratePgmapOwner` of that invalidation (null unless `notifyMigrate`). */
  readonly notifyOwner: unknown;
}

/** A pointer field is "set" (non-NULL): anything but null and undefined. */
function isSet(v: unknown): boolean {
  return v !== null && v !== undefined;
}

function bad(version: string, what: string): never {
  throw new InvalidArgumentError(`migrate_vma_setup (v${version}): ${what}`);
}

function checkVersion(version: unknown): MigrateVmaVersion {
  if (version === '5.4' || version === '5.7' || version === '5.9') return version;
  throw new InvalidArgumentError(
    `migrate_vma_setup: version '${String(version)}'; expected '5.4', '5.7' or '5.9'`,
  );
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

/** The v5.9 fields: flags a non-negative integer of known bits with at least one select bit. */
function checkV59Flags(flags: number, owner: unknown): number {
  if (flags > SELECT_ALL) {
    bad(
      '5.9',
      `flags ${hex(flags)} has unknown bits ${hex(flags - (flags & SELECT_ALL))}; expected only MIGRATE_VMA_SELECT_SYSTEM (0x1) | MIGRATE_VMA_SELECT_DEVICE_PRIVATE (0x2)`,
    );
  }
  if (flags === 0) {
    bad(
      '5.9',
      'flags 0 selects no page (the kernel would collect only empty slots); expected MIGRATE_VMA_SELECT_SYSTEM and/or MIGRATE_VMA_SELECT_DEVICE_PRIVATE',
    );
  }
  if ((flags & MIGRATE_VMA_SELECT_DEVICE_PRIVATE) !== 0 && !isSet(owner)) {
    bad(
      '5.9',
      'MIGRATE_VMA_SELECT_DEVICE_PRIVATE with a null pgmapOwner selects no device page (memremap_pages refuses device-private pgmaps without an owner since v5.7); expected pgmapOwner = the owner of the pgmap whose pages to collect',
    );
  }
  return flags;
}

/**
 * Check `args`' owner/flags fields against `opts.version` and return the collect decisions.
 * Fields of another generation, an unknown version, and v5.9 flags that select nothing, carry
 * unknown bits or select device-private pages without an owner throw InvalidArgumentError (the
 * kernel has no errno for them: it would silently collect less). Mirrors the selection tests of
 * mm/migrate.c:migrate_vma_collect_pmd() and the range set up by migrate_vma_collect() (v5.4, v5.7, v5.9).
 */
export function migrateVmaSelect(
  args: MigrateVma,
  opts: MigrateVmaSetupOptions = {},
): MigrateVmaSelect {
  if (typeof opts !== 'object' || opts === null) {
    throw new InvalidArgumentError(
      `migrate_vma_setup: opts is ${String(opts)}; expected { version?: '5.4' | '5.7' | '5.9' }`,
    );
  }
  const version = checkVersion(opts.version ?? '5.4');
  checkUlong(
    `migrate_vma_setup (v${version})`,
    'args.flags',
    args.flags,
    'MIGRATE_VMA_SELECT_* bits (0 before v5.9)',
  );
  const srcOwnerSet = isSet(args.srcOwner);
  const v59Set = isSet(args.pgmapOwner) || args.flags !== 0;
  if (version === '5.4') {
    if (srcOwnerSet || v59Set) {
      bad(
        '5.4',
        "srcOwner/pgmapOwner/flags are set but struct migrate_vma has no owner fields before v5.7; pass { version: '5.7' } (srcOwner) or { version: '5.9' } (pgmapOwner, flags), or leave them null/0",
      );
    }
    return {
      system: true,
      devicePrivate: 'any',
      owner: null,
      anonymousHolesOnly: false,
      notifyMigrate: false,
      notifyOwner: null,
    };
  }
  if (version === '5.7') {
    if (v59Set) {
      bad(
        '5.7',
        "pgmapOwner/flags are set but v5.7–v5.8 have only src_owner (renamed pgmap_owner, with flags, in v5.9); set srcOwner or pass { version: '5.9' }",
      );
    }
    return {
      system: !srcOwnerSet,
      devicePrivate: 'owner',
      owner: srcOwnerSet ? args.srcOwner : null,
      anonymousHolesOnly: false,
      notifyMigrate: false,
      notifyOwner: null,
    };
  }
  if (srcOwnerSet) {
    bad(
      '5.9',
      'srcOwner is set but v5.9 renamed src_owner to pgmap_owner and added flags; set pgmapOwner and flags (MIGRATE_VMA_SELECT_*) instead',
    );
  }
  const flags = checkV59Flags(args.flags, args.pgmapOwner);
  const owner = isSet(args.pgmapOwner) ? args.pgmapOwner : null;
  return {
    system: (flags & MIGRATE_VMA_SELECT_SYSTEM) !== 0,
    devicePrivate: (flags & MIGRATE_VMA_SELECT_DEVICE_PRIVATE) !== 0 ? 'owner' : 'none',
    owner,
    anonymousHolesOnly: true,
    notifyMigrate: true,
    notifyOwner: owner,
  };
}
