/**
 * The mm's direct reads and writes of page-table slots and memmap words go through
 * @hmmsim/pagetable's reporting word accessors (raw-access.ts), re-exported here so that every
 * such access in this package (outside the invariant checks) is found by grepping for this
 * module; plus the elements that stand for the mm's own lists in access reports.
 *
 * Internal to the package (not re-exported from the index).
 */

/**
 * The element of an MmStruct that stands for its VMA list in access reports: reading `mm.vmas`
 * reports `noteRead(mm, MM_FIELD_VMAS)`, code that changes the list reports
 * `noteWrite(mm, MM_FIELD_VMAS)`. Mirrors: model-only (the list behind mm_struct.mmap / mm_rb).
 */
export const MM_FIELD_VMAS = 6;

/**
 * The element of a VmArea that stands for its anon_vma chain in access reports: reading
 * `vma.anonVmaChain` reports `noteRead(vma, VMA_FIELD_ANON_VMA_CHAIN)`, code that changes the
 * chain reports `noteWrite(vma, VMA_FIELD_ANON_VMA_CHAIN)`. Mirrors: model-only (the list behind
 * vm_area_struct.anon_vma_chain).
 */
export const VMA_FIELD_ANON_VMA_CHAIN = 6;

/**
 * The element of an AddressSpace that stands for its i_mmap set in access reports: reading
 * `mapping.iMmap` reports `noteRead(mapping, ADDRESS_SPACE_FIELD_I_MMAP)`, code that changes it
 * reports `noteWrite(mapping, ADDRESS_SPACE_FIELD_I_MMAP)`. Mirrors: model-only (address_space.i_mmap).
 */
export const ADDRESS_SPACE_FIELD_I_MMAP = 0;

export {
  pgCompoundMapcount,
  pgFlags,
  pgIndex,
  pgMapcount,
  pgMapping,
  pgOrder,
  pgPgmap,
  pgPrivate,
  pgRefcount,
  pgSetCompoundMapcount,
  pgSetFlags,
  pgSetIndex,
  pgSetMapcount,
  pgSetMapping,
  pgSetPrivate,
  pgSetRefcount,
  ptBits,
  ptVal,
} from '@hmmsim/pagetable';
