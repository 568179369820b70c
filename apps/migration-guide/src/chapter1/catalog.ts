/** The catalogue entries of src/chapter1/ (see ../catalog-types.ts). */
import type { GuideEntry } from '../catalog-types.ts';

/** Every runnable entry of this part of the guide. */
export const ENTRIES: readonly GuideEntry[] = [];
