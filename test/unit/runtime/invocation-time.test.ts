import { INVOCATION_RESERVE_MS, invocationTimeLeftMs, noTimeLeft, withInvocationDeadline } from '../../../functions/runtime/invocation-time';
import { RetryLaterError } from '../../../functions/domain/errors';

describe('the invocation\u2019s deadline', () => {
  const context = (remainingMs: number) => ({ getRemainingTimeInMillis: () => remainingMs });
  // A still clock: the figures are exact, whatever the machine's speed.
  beforeEach(() => jest.spyOn(Date, 'now').mockReturnValue(1_800_000_000_000));
  afterEach(() => jest.restoreAllMocks());

  it('is the remaining time less the reserve, inside the invocation only', async () => {
    expect(invocationTimeLeftMs()).toBeUndefined();
    const left = await withInvocationDeadline(context(60_000), async () => invocationTimeLeftMs());
    expect(left).toBe(60_000 - INVOCATION_RESERVE_MS);
    expect(invocationTimeLeftMs()).toBeUndefined();
  });

  it('is negative once the reserve is reached', async () => {
    const left = await withInvocationDeadline(context(INVOCATION_RESERVE_MS - 1), async () => invocationTimeLeftMs());
    expect(left).toBe(-1);
  });

  it('belongs to each invocation: two running at once in one process (local mode) each see their own', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const seen = (remainingMs: number) =>
      withInvocationDeadline(context(remainingMs), async () => {
        await gate; // both are running before either reads
        return invocationTimeLeftMs()!;
      });
    const both = Promise.all([seen(60_000), seen(20_000)]);
    release();
    expect(await both).toEqual([60_000 - INVOCATION_RESERVE_MS, 20_000 - INVOCATION_RESERVE_MS]);
  });

  it('is absent without a Lambda context (a script): nothing bounds the work', async () => {
    await expect(withInvocationDeadline(undefined, async () => invocationTimeLeftMs())).resolves.toBeUndefined();
  });

  it('defers work with an error that sends the message again without counting a receive', () => {
    const error = noTimeLeft('chat.postMessage');
    expect(error).toBeInstanceOf(RetryLaterError);
    expect(error).toMatchObject({ waitingForBudget: true, delaySeconds: 1 });
    expect(error.message).toContain('chat.postMessage');
  });
});
