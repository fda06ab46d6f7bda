import { cidrContains, parseCidr, parseIp } from '../../../functions/domain/networks';

const cidr = (text: string) => {
  const parsed = parseCidr(text);
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.cidr;
};
const inRange = (range: string, ip: string) => cidrContains(cidr(range), parseIp(ip)!);

describe('parseIp', () => {
  it.each([
    ['198.51.100.7', 4, 0xc6336407n],
    ['0.0.0.0', 4, 0n],
    ['255.255.255.255', 4, 0xffffffffn],
    ['2001:db8::1', 6, 0x20010db8000000000000000000000001n],
    ['::', 6, 0n],
    ['::1', 6, 1n],
    ['2001:DB8:0:0:0:0:0:1', 6, 0x20010db8000000000000000000000001n],
    ['fe80::1:2', 6, 0xfe800000000000000000000000010002n],
    ['::ffff:198.51.100.7', 4, 0xc6336407n], // IPv4-mapped: the IPv4 address it carries
    ['64:ff9b::198.51.100.7', 6, 0x0064ff9b0000000000000000c6336407n], // embedded, not mapped
    ['1:2:3:4:5:6:198.51.100.7', 6, 0x000100020003000400050006c6336407n], // embedded in a full address
    ['1::8', 6, 0x00010000000000000000000000000008n],
    ['1:2:3:4:5:6:7::', 6, 0x00010002000300040005000600070000n], // "::" standing for one group
    ['::ffff:0.0.0.0', 4, 0n],
    ['0:0:0:0:0:fffe:c633:6407', 6, 0xfffec6336407n], // one bit off the mapped prefix: stays IPv6
  ])('%s', (text, version, bits) => {
    expect(parseIp(text)).toEqual({ version, bits });
  });

  it.each(['', '198.51.100', '198.51.100.7.1', '198.51.100.256', '198.051.100.7', '1.2.3.-4', '2001:db8:::1', '2001:db8::1::2', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', 'g::1', '12345::', '::ffff:1.2.3', 'fe80::1%eth0', ' 1.2.3.4', 'localhost', '1000.1.1.1', '1.2.3.4 ', '00.1.2.3', '1:2:3:4:5:6:7:8::', '::1:2:3:4:5:6:7:8', '1.2.3.4::', '1.2.3.4::1', // an embedded IPv4 address only ever ends an address
    '::1.2.3.4:5', '1:2:3:4:5:6:1.2.3.4:7', '::ffff:1.2.3.256', '1::2:', ':1::2', 'fffff::',
    '1:2:3:4:5:6:7:8::1::2', '1:2:3:4:5:6:7:8::::'])( // two "::" after a full address: nothing may follow it
    'refuses %p',
    (text) => {
      expect(parseIp(text)).toBeUndefined();
    },
  );
});

describe('parseCidr', () => {
  it('keeps the canonical form', () => {
    expect(cidr('2001:0db8:0000:0000::/32').text).toBe('2001:db8::/32');
    expect(cidr('2001:db8:0:1:0:0:0:0/64').text).toBe('2001:db8:0:1::/64');
    expect(cidr('198.51.100.0/24').text).toBe('198.51.100.0/24');
    expect(cidr('1.2.3.4/32').text).toBe('1.2.3.4/32');
  });

  it.each([
    // RFC 5952: only the longest run of zero groups is shortened (the first of equal runs), never a single zero group.
    ['1:0:0:1:0:0:0:1/128', '1:0:0:1::1/128'],
    ['1:0:0:2:0:0:3:4/128', '1::2:0:0:3:4/128'],
    ['1:0:2:3:4:5:6:7/128', '1:0:2:3:4:5:6:7/128'],
    ['1:2:3:4:5:6:7:0/128', '1:2:3:4:5:6:7:0/128'],
    ['1:2:3:4:5:6:0:0/128', '1:2:3:4:5:6::/128'],
    ['0:0:1:2:3:4:5:6/128', '::1:2:3:4:5:6/128'],
    ['0:0:0:0:0:0:0:1/128', '::1/128'],
    ['::/0', '::/0'],
    ['0.0.0.0/0', '0.0.0.0/0'],
    ['255.255.255.255/32', '255.255.255.255/32'],
    ['ABCD:EF01::/32', 'abcd:ef01::/32'],
    ['::ffff:198.51.100.0/120', '::ffff:c633:6400/120'], // a mapped range is written as IPv6, its own version
  ])('writes %s as %s', (text, canonical) => {
    const parsed = cidr(text);
    expect(parsed.text).toBe(canonical);
    // The canonical text is itself a range, the same one.
    expect(cidr(canonical)).toEqual(parsed);
  });

  it('reads the version and the prefix from the range, and the network with the host bits zero', () => {
    expect(cidr('198.51.100.128/25')).toEqual({ version: 4, network: 0xc6336480n, prefix: 25, text: '198.51.100.128/25' });
    expect(cidr('2001:db8::/32')).toEqual({ version: 6, network: 0x20010db8n << 96n, prefix: 32, text: '2001:db8::/32' });
    expect(cidr('10.0.0.0/32').prefix).toBe(32);
    expect(cidr('::/128').prefix).toBe(128);
  });

  it.each([
    ['198.51.100.0', /must be a CIDR range/],
    ['198.51.100.0/', /must be a CIDR range/],
    ['198.51.100.0/024x', /must be a CIDR range/],
    // The whole text must be the range: nothing before it, not even a space or another range.
    [' 198.51.100.0/24', /must be a CIDR range/],
    ['x 198.51.100.0/24', /must be a CIDR range/],
    ['10.0.0.0/8/198.51.100.0/24', /must be a CIDR range/],
    ['198.51.100.1/24', /host bits set past \/24; the network is 198\.51\.100\.0\/24/],
    ['2001:db8::1/32', /host bits set past \/32; the network is 2001:db8::\/32/],
    ['10.0.0.0/33', /prefix \/33 is longer than an IPv4 address \(32 bits\)/],
    ['::/129', /prefix \/129 is longer than an IPv6 address \(128 bits\)/],
    ['example.com/24', /"example\.com" is not an IPv4 or IPv6 address/],
  ])('refuses %p', (text, message) => {
    const parsed = parseCidr(text);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.message).toMatch(message);
  });
});

describe('cidrContains: exact prefix math', () => {
  it.each([
    ['198.51.100.0/24', '198.51.100.0', true],
    ['198.51.100.0/24', '198.51.100.255', true],
    ['198.51.100.0/24', '198.51.99.255', false],
    ['198.51.100.0/24', '198.51.101.0', false],
    ['198.51.100.128/25', '198.51.100.127', false],
    ['198.51.100.128/25', '198.51.100.128', true],
    ['10.0.0.0/8', '10.255.255.255', true],
    ['10.0.0.0/8', '11.0.0.0', false],
    ['1.2.3.4/32', '1.2.3.4', true],
    ['1.2.3.4/32', '1.2.3.5', false],
    ['0.0.0.0/0', '255.255.255.255', true],
    ['2001:db8::/32', '2001:db8:ffff:ffff:ffff:ffff:ffff:ffff', true],
    ['2001:db8::/32', '2001:db9::', false],
    ['2001:db8::/33', '2001:db8:8000::', false],
    ['2001:db8::/33', '2001:db8:7fff::1', true],
    ['::/0', '2001:db8::1', true],
    // Versions never mix: an IPv6 range holds no IPv4 address (except a mapped one, read as IPv4).
    ['::/0', '198.51.100.7', false],
    ['0.0.0.0/0', '2001:db8::1', false],
    ['198.51.100.0/24', '::ffff:198.51.100.9', true],
  ])('%s holds %s: %s', (range, ip, held) => {
    expect(inRange(range, ip)).toBe(held);
  });
});
