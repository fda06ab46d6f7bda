import type { TrustedNetworks } from './config/schema';
import { parseCidr } from './networks';

/**
 * Slack's own anomaly allow-list (admin.audit.anomaly.allow.*): traffic from it is not flagged as
 * anomalous at all. Slack takes IPv4 CIDRs and ASNs only, and updateItem overwrites the whole list.
 */
export interface AllowList {
  cidrs: string[];
  asns: number[];
}

export interface AllowListPlan {
  /** What Slack's list must be: the configured IPv4 ranges and the ASNs, sorted. */
  desired: AllowList;
  /** Configured IPv6 ranges: Slack's list cannot hold them (they still hold anomalies back here). */
  notSynced: string[];
  /** Slack's list differs from what we last wrote: someone changed it in Slack. */
  drift?: { lastWritten: AllowList; found: AllowList };
  /** Slack's list is not the desired one: write it. */
  update: boolean;
}

/** A list in canonical form (each range as parseCidr writes it), sorted, without repeats, for comparing. */
export function normaliseAllowList(list: AllowList): AllowList {
  const cidrs = list.cidrs.map((text) => {
    const parsed = parseCidr(text.trim());
    // Slack has shown host bits set in its own example ("8.8.8.8/24"): compare such a range as written.
    return parsed.ok ? parsed.cidr.text : text.trim();
  });
  return { cidrs: [...new Set(cidrs)].sort(), asns: [...new Set(list.asns)].sort((a, b) => a - b) };
}

const same = (a: AllowList, b: AllowList) => JSON.stringify(normaliseAllowList(a)) === JSON.stringify(normaliseAllowList(b));

/**
 * Keep Slack's allow-list equal to the configured IPv4 ranges and ASNs. What we last wrote tells a
 * change made in Slack (drift: logged and alerted, then overwritten by the configuration, which is
 * the one place the list is kept) from one we have not written yet.
 */
export function planAllowListSync(trusted: TrustedNetworks, found: AllowList, lastWritten: AllowList | undefined): AllowListPlan {
  const ipv4 = trusted.cidrs.filter((text) => {
    const parsed = parseCidr(text);
    return parsed.ok && parsed.cidr.version === 4;
  });
  const desired = normaliseAllowList({ cidrs: ipv4, asns: trusted.asns });
  const notSynced = trusted.cidrs.filter((text) => !ipv4.includes(text));
  const drift = lastWritten && !same(lastWritten, found) ? { lastWritten: normaliseAllowList(lastWritten), found: normaliseAllowList(found) } : undefined;
  return { desired, notSynced, ...(drift ? { drift } : {}), update: !same(desired, found) };
}
