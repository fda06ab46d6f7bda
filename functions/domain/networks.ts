/**
 * IPv4 and IPv6 addresses and CIDR ranges, with exact prefix math on the address's bits (BigInt),
 * for the trusted-networks rule. Pure: no `net` module, so the domain stays importable anywhere.
 */

export type IpVersion = 4 | 6;

export interface IpAddress {
  version: IpVersion;
  /** The address's bits: 32 for IPv4, 128 for IPv6. */
  bits: bigint;
}

export interface Cidr {
  version: IpVersion;
  /** The network address's bits (host bits zero). */
  network: bigint;
  prefix: number;
  /** Canonical text, e.g. "198.51.100.0/24", "2001:db8::/32". */
  text: string;
}

const WIDTH: Record<IpVersion, number> = { 4: 32, 6: 128 };

function parseIpv4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let bits = 0n;
  for (const part of parts) {
    // No leading zeros: "010" is octal to some parsers and decimal to others.
    if (!/^(0|[1-9]\d{0,2})$/.test(part) || Number(part) > 255) return undefined;
    bits = (bits << 8n) | BigInt(part);
  }
  return bits;
}

function parseIpv6(text: string): bigint | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(text)) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  // `last`: the half that ends the address, the only place an embedded IPv4 address may stand.
  const groupsOf = (half: string, last: boolean): number[] | undefined => {
    if (half === '') return [];
    const groups: number[] = [];
    const pieces = half.split(':');
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i];
      if (last && i === pieces.length - 1 && piece.includes('.')) {
        // An embedded IPv4 address (e.g. ::ffff:198.51.100.7) fills the last two groups.
        const v4 = parseIpv4(piece);
        if (v4 === undefined) return undefined;
        groups.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
      } else if (/^[0-9a-fA-F]{1,4}$/.test(piece)) {
        groups.push(parseInt(piece, 16));
      } else {
        return undefined;
      }
    }
    return groups;
  };
  const head = groupsOf(halves[0], halves.length === 1);
  const tail = halves.length === 2 ? groupsOf(halves[1], true) : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  return [...head, ...Array<number>(missing).fill(0), ...tail].reduce((bits, group) => (bits << 16n) | BigInt(group), 0n);
}

/**
 * An address as it appears in an audit entry, or undefined when it is not one. An IPv4-mapped
 * IPv6 address (::ffff:a.b.c.d) is read as the IPv4 address it carries, so IPv4 ranges match it.
 */
export function parseIp(text: string): IpAddress | undefined {
  const v4 = parseIpv4(text);
  if (v4 !== undefined) return { version: 4, bits: v4 };
  const v6 = parseIpv6(text);
  if (v6 === undefined) return undefined;
  if (v6 >> 32n === 0xffffn) return { version: 4, bits: v6 & 0xffffffffn };
  return { version: 6, bits: v6 };
}

function formatIp(version: IpVersion, bits: bigint): string {
  if (version === 4) return [24n, 16n, 8n, 0n].map((shift) => String((bits >> shift) & 0xffn)).join('.');
  const groups = Array.from({ length: 8 }, (_, i) => Number((bits >> BigInt(112 - 16 * i)) & 0xffffn));
  // RFC 5952: the longest run (of two or more) of zero groups becomes "::".
  let best = { start: -1, length: 0 };
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.length) best = { start: i, length: j - i };
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.length < 2) return hex.join(':');
  return `${hex.slice(0, best.start).join(':')}::${hex.slice(best.start + best.length).join(':')}`;
}

function mask(version: IpVersion, prefix: number): bigint {
  const width = WIDTH[version];
  return ((1n << BigInt(width)) - 1n) ^ ((1n << BigInt(width - prefix)) - 1n);
}

/** A CIDR range, or why it is not one (the config names the field and says this). */
export function parseCidr(text: string): { ok: true; cidr: Cidr } | { ok: false; message: string } {
  const match = /^([^/\s]+)\/(\d{1,3})$/.exec(text);
  if (!match) return { ok: false, message: 'must be a CIDR range such as 198.51.100.0/24 or 2001:db8::/32' };
  const version: IpVersion | undefined = parseIpv4(match[1]) !== undefined ? 4 : parseIpv6(match[1]) !== undefined ? 6 : undefined;
  if (!version) return { ok: false, message: `"${match[1]}" is not an IPv4 or IPv6 address` };
  const bits = (version === 4 ? parseIpv4(match[1]) : parseIpv6(match[1]))!;
  const prefix = Number(match[2]);
  if (prefix > WIDTH[version]) return { ok: false, message: `prefix /${prefix} is longer than an IPv${version} address (${WIDTH[version]} bits)` };
  const network = bits & mask(version, prefix);
  const canonical = `${formatIp(version, network)}/${prefix}`;
  // A range with host bits set is ambiguous (a typo for a single address, or for the network?): refuse it.
  if (network !== bits) return { ok: false, message: `has host bits set past /${prefix}; the network is ${canonical}` };
  return { ok: true, cidr: { version, network, prefix, text: canonical } };
}

export function cidrContains(cidr: Cidr, ip: IpAddress): boolean {
  return cidr.version === ip.version && (ip.bits & mask(cidr.version, cidr.prefix)) === cidr.network;
}
