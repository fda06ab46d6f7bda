import type { SlackApi } from '../../../functions/adapters/slack/web-api';
import { startSlackSimulator, type SlackSimulator } from '../../../tools/local/slack-simulator';
import { contractScenario, installerId, notifyFake, outcome, SLACK_CONTRACT_CASES, supportFake, type SlackContractCase } from '../../support/slack-contract';
import { webApi } from './helpers';

/**
 * The Slack fakes the unit tests use must refuse what Slack refuses. The same cases run against
 * the real client (SlackWebApi) on the strict simulator, which is the reference, and against
 * both fakes; every implementation must give the case's expected outcome (value or SlackError
 * code, kind, token and method). Rate tiers are off here: this is about answers, not pacing.
 */
const sims = new Map<SlackContractCase['installedBy'], SlackSimulator>();

beforeAll(async () => {
  for (const installedBy of ['owner', 'admin'] as const) {
    sims.set(installedBy, await startSlackSimulator({ scenario: contractScenario(installerId(installedBy)), rateLimits: false }));
  }
});
afterAll(async () => {
  for (const sim of sims.values()) await sim.stop();
});

interface Target {
  api: Partial<SlackApi>;
  /** Whose sessions were ended and which ("W…:all", "W…:web", "W…:session:123"), as the implementation recorded it. */
  resets(): string[];
}

/** Each implementation, with the SlackApi methods it has (notify's fake has only notify's calls). */
const targets: [string, { methods: (keyof SlackApi)[] | 'all'; make: (c: SlackContractCase) => Target }][] = [
  [
    'SlackWebApi on the simulator (the reference)',
    {
      methods: 'all',
      make: (c) => {
        const sim = sims.get(c.installedBy)!;
        sim.reset();
        return {
          api: webApi(sim).api,
          resets: () => [
            ...sim.state().resets.map((r) => `${r.userId}:${r.webOnly ? 'web' : r.mobileOnly ? 'mobile' : 'all'}`),
            ...sim.state().invalidations.map((i) => `${i.userId}:session:${i.sessionId}`),
          ],
        };
      },
    },
  ],
  [
    'test/support/fake-slack.ts',
    {
      methods: 'all',
      make: (c) => {
        const fake = supportFake(installerId(c.installedBy));
        return { api: fake, resets: () => fake.resetScopes.map(({ userId, scope }) => `${userId}:${scope.kind}${scope.kind === 'session' ? `:${scope.sessionId}` : ''}`) };
      },
    },
  ],
  [
    'test/unit/notify/fakes.ts (notify\u2019s calls)',
    { methods: ['primaryOwner', 'securityAdminIds', 'getUser', 'openDirectMessage', 'postMessage'], make: () => ({ api: notifyFake(), resets: () => [] }) },
  ],
];

describe.each(targets)('Slack contract: %s', (_name, { methods, make }) => {
  const cases = SLACK_CONTRACT_CASES.filter((c) => methods === 'all' || c.uses.every((m) => methods.includes(m)));

  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_caseName, c) => {
    const target = make(c);
    await expect(outcome(() => c.call(target.api as SlackApi))).resolves.toEqual(c.expected);
    if (c.uses.includes('resetSessions')) {
      // A refused reset ends nobody's sessions; an accepted one ends exactly that person's.
      const resetsOf = 'ok' in c.expected ? [await argOf(c)] : [];
      expect(target.resets()).toEqual(resetsOf);
    }
  });
});

/** The user and scope a reset case names (recorded by a probe that answers every method). */
async function argOf(c: SlackContractCase): Promise<string> {
  let seen = '';
  const probe = new Proxy({} as SlackApi, {
    get: () => async (userId: unknown, scope?: { kind: string; sessionId?: string }) => {
      seen = `${String(userId)}:${scope?.kind ?? 'all'}${scope?.sessionId ? `:${scope.sessionId}` : ''}`;
    },
  });
  await c.call(probe);
  return seen;
}
