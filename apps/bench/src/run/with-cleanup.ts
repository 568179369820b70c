/**
 * Run a body, then its clean-up, without letting a clean-up failure hide the body's own error.
 */

/** body(), then cleanup() whatever happened; the body's error wins over the clean-up's. */
export async function withCleanup<T>(
  body: () => Promise<T>,
  cleanup: () => Promise<void>,
): Promise<T> {
  let result: T;
  try {
    result = await body();
  } catch (error) {
    await cleanup().catch(() => {});
    throw error;
  }
  await cleanup();
  return result;
}
