/**
 * Chapter 3's one piece of code: the v5.4 drivers built on either implementation of the hmm_mirror
 * API. Nothing else differs between a v5.4 driver and the same driver on the compat shim.
 */
import { legacyHmmMirrorApi, shimHmmMirrorApi } from '@hmmsim/hmm-mirror';
import type { MmStruct } from '@hmmsim/mm';
import { SvmmV54 } from '../svm/v54.ts';
import { UserptrV54Driver } from '../userptr/v54.ts';

/** Which hmm_mirror implementation a v5.4 driver is built on. */
export type MirrorBackend = 'legacy' | 'shim';

/**
 * The v5.4 SVM driver on `backend`.
 * Mirrors: model-only (a v5.4 nouveau-style driver, unchanged, on either implementation).
 */
export function svmOn(
  backend: MirrorBackend,
  mm: MmStruct,
  start: number,
  npages: number,
): SvmmV54 {
  // #region pick-backend
  const api = backend === 'shim' ? shimHmmMirrorApi : legacyHmmMirrorApi;
  const svmm = new SvmmV54(mm, start, npages, { api });
  // #endregion pick-backend
  return svmm;
}

/**
 * The v5.4 userptr driver on `backend`.
 * Mirrors: model-only (a v5.4 amdgpu-style driver, unchanged, on either implementation).
 */
export function userptrOn(
  backend: MirrorBackend,
  mm: MmStruct,
  start: number,
  npages: number,
): UserptrV54Driver {
  const api = backend === 'shim' ? shimHmmMirrorApi : legacyHmmMirrorApi;
  return new UserptrV54Driver(mm, start, npages, { api });
}
