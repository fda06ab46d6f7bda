import type { ScenarioInput } from '../../tools/local/slack-simulator';

/** A compact org for the integration tests: an owner, two security admins, a group, a channel. */
export const ORG = {
  enterprise: { id: 'E0TESTORG1', name: 'Testco', domain: 'testco' },
  workspaces: [{ id: 'T0TESTHQ01', name: 'Testco HQ', domain: 'testco-hq' }],
  users: [
    { id: 'W0OWNER001', name: 'olga', real_name: 'Olga Owner', email: 'olga@testco.example', is_primary_owner: true, is_owner: true, is_admin: true },
    { id: 'W0SECADM01', name: 'sam', real_name: 'Sam Secadmin', email: 'sam@testco.example', roles: ['security_admin'] },
    { id: 'W0SECADM02', name: 'sue', real_name: 'Sue Secadmin', email: 'sue@testco.example', roles: ['security_admin'] },
    ...['ana', 'ben', 'cara', 'dan', 'eve', 'fay', 'gil', 'hal', 'ivy', 'jon', 'kim', 'leo'].map((name) => ({
      id: `W0${name.toUpperCase().padEnd(6, 'X')}01`,
      name,
      real_name: `${name[0].toUpperCase()}${name.slice(1)} Tester`,
      email: `${name}@testco.example`,
    })),
    { id: 'U0EXTERN01', name: 'xena', real_name: 'Xena External', email: 'xena@partner.example', external: true, enterprise_id: 'E0PARTNER1' },
  ],
  usergroups: [{ id: 'S0SECTEAM1', name: 'Security team', handle: 'security-team', users: ['W0JONXXX01', 'W0KIMXXX01'] }],
  channels: [{ id: 'C0SECALRT1', name: 'security-alerts', is_private: true }],
} satisfies ScenarioInput['org'];

export const userId = (name: string) => `W0${name.toUpperCase().padEnd(6, 'X')}01`;

let counter = 0;
/** One anomaly entry about a person, `ageSeconds` before the simulator started. */
export function anomaly(name: string, reasons: string[], extra: { ageSeconds?: number; arrivalDelaySeconds?: number; id?: string } = {}) {
  counter++;
  return {
    id: extra.id ?? `it-${name}-${reasons[0]}-${counter}`,
    ageSeconds: extra.ageSeconds ?? 60 + counter,
    ...(extra.arrivalDelaySeconds !== undefined ? { arrivalDelaySeconds: extra.arrivalDelaySeconds } : {}),
    entity: { type: 'user', user: { id: name.startsWith('U0') || name.startsWith('W0') ? name : userId(name) } },
    context: { ua: 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0', ip_address: '198.51.100.23' },
    details: { location: 'Reno, Nevada', previous_ip_address: '203.0.113.7', reason: reasons },
  };
}
