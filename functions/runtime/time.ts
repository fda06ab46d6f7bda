/**
 * Waits `ms` milliseconds; resolves early (never rejects) when `signal` aborts, so a stopping
 * loop is not held up by its pause. The one `sleep` for functions/ and tools/.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted || ms <= 0) return resolve();
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}
