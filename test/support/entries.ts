/** A realistic anomaly audit entry (Slack's documented shape), with overrides. */
export function anomalyEntry(overrides: { id?: string; userId?: string; reasons?: string[] | string; date?: number; entity?: unknown } = {}) {
  const userId = overrides.userId ?? 'U0ANA00001';
  return {
    id: overrides.id ?? `0b5c${Math.random().toString(16).slice(2, 10)}`,
    date_create: overrides.date ?? 1_800_000_000,
    action: 'anomaly',
    actor: { type: 'user', user: { id: userId, name: 'ana', email: 'ana@example.com', team: 'E0ORG00001' } },
    entity: overrides.entity ?? { type: 'user', user: { id: userId, name: 'ana', email: 'ana@example.com', team: 'E0ORG00001' } },
    context: {
      location: { type: 'enterprise', id: 'E0ORG00001', name: 'Acme', domain: 'acme' },
      ua: 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0',
      session_id: 847288190092,
      ip_address: '198.51.100.23',
    },
    details: {
      action_timestamp: 1_800_000_000_000,
      location: 'Reno, Nevada',
      previous_ip_address: '203.0.113.7',
      previous_ua: 'Slack/4.41 (Mac OS X 14.5)',
      reason: overrides.reasons ?? ['tor'],
    },
  };
}

export const message = (entry: unknown) => JSON.stringify({ entry, polledAt: 1_800_000_000_000 });
