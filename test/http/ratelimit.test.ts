// Which client addresses share a per-address failure counter (src/http/ratelimit.ts addressBucket).
import { describe, expect, it } from 'vitest';
import { addressBucket, authBuckets } from '../../src/http/ratelimit';

describe('addressBucket', () => {
  it('keeps an IPv4 address as it is', () => {
    expect(addressBucket('203.0.113.7')).toBe('203.0.113.7');
  });

  it('takes IPv4-mapped IPv6 (dotted or hex) as the IPv4 address, not as one /64 for all of IPv4', () => {
    expect(addressBucket('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(addressBucket('::FFFF:cb00:7107')).toBe('203.0.113.7');
    expect(addressBucket('0:0:0:0:0:ffff:cb00:7107')).toBe('203.0.113.7');
  });

  it('counts an IPv6 address by its /64, whatever its spelling', () => {
    const bucket = '2001:db8:1:2::/64';
    for (const a of [
      '2001:db8:1:2::1',
      '2001:0db8:0001:0002:ffff:ffff:ffff:ffff',
      '2001:DB8:1:2:abcd::9',
      '2001:db8:1:2:0:0:1.2.3.4',
      '2001:db8:1:2::1%eth0',
    ])
      expect(addressBucket(a)).toBe(bucket);
    expect(addressBucket('2001:db8:1:3::1')).toBe('2001:db8:1:3::/64');
    expect(addressBucket('::1')).toBe('0:0:0:0::/64');
    expect(addressBucket('2001:db8::')).toBe('2001:db8:0:0::/64');
  });

  it('keeps what does not parse as given', () => {
    for (const a of ['1:2:3:4:5:6:7:8:9', '1::2::3', 'gggg::1', '1:2:3:4:5:6:7', 'not-an-address'])
      expect(addressBucket(a)).toBe(a);
  });

  it('is what authBuckets uses', () => {
    expect(authBuckets('2001:db8:1:2::77', 'ab')).toEqual(['addr:2001:db8:1:2::/64', 'key:ab']);
    expect(authBuckets('unknown')).toEqual([]);
  });
});
