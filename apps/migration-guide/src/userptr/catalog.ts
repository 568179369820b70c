/** The catalogue entries of src/userptr/ (see ../catalog-types.ts). */
import type { GuideEntry } from '../catalog-types.ts';

/** Every runnable entry of this part of the guide. */
export const ENTRIES: readonly GuideEntry[] = [];
