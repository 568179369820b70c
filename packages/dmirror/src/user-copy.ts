/**
 * copy_to_user / copy_from_user for the dmirror: the user buffer (`cmd.ptr`) lives in the calling
 * process's mm and is accessed as user code would access it (faulting pages in, honouring the
 * protection), through @hmmsim/mm's CPU access functions.
 *
 * Mirrors include/linux/uaccess.h: copy_to_user(), copy_from_user() (all-or-error use).
 */
import { checkUlong } from '@hmmsim/kernel';
import { cpuRead, cpuWrite, type MmStruct } from '@hmmsim/mm';

/** Copy `data` to user address `ptr` of `mm`; false if any byte could not be written. Mirrors copy_to_user() != 0. */
export async function copyToUser(mm: MmStruct, ptr: number, data: Uint8Array): Promise<boolean> {
  checkUlong('copy_to_user', 'to', ptr, 'a user address');
  return (await cpuWrite(mm, ptr, data)).ok;
}

/** `len` bytes from user address `ptr` of `mm`, or null if any could not be read. Mirrors copy_from_user(). */
export async function copyFromUser(
  mm: MmStruct,
  ptr: number,
  len: number,
): Promise<Uint8Array | null> {
  checkUlong('copy_from_user', 'from', ptr, 'a user address');
  checkUlong('copy_from_user', 'n', len, 'a length in bytes');
  const r = await cpuRead(mm, ptr, len);
  return r.ok && r.data !== undefined ? r.data : null;
}
