import { sleep } from '../../../functions/runtime/time';

describe('sleep', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('resolves once its time has passed, not before', async () => {
    let done = false;
    const waiting = sleep(1000).then(() => (done = true));
    await jest.advanceTimersByTimeAsync(999);
    expect(done).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    await waiting;
    expect(done).toBe(true);
  });

  it('resolves at once when its signal aborts, or was already aborted, and leaves no timer', async () => {
    const controller = new AbortController();
    const waiting = sleep(60_000, controller.signal);
    controller.abort();
    await waiting;
    await sleep(60_000, AbortSignal.abort());
    expect(jest.getTimerCount()).toBe(0);
  });
});
