/** Releasing what a failed operation took, without losing either error. */
/**
 * After `error` stopped an operation half-way, releases what it took (`release`: close a
 * store, stop a writer) and throws `error`. If releasing fails too, neither is dropped:
 * both are thrown together in an AggregateError.
 */
export async function releaseAndThrow(error: unknown, release: () => Promise<void>): Promise<never> {
  try {
    await release();
  } catch (releaseError) {
    throw new AggregateError([error, releaseError], `${(error as Error)?.message ?? String(error)}; releasing failed too: ${(releaseError as Error)?.message ?? String(releaseError)}`);
  }
  throw error;
}
