import { afterEach, describe, expect, it, vi } from 'vitest';
import { ValidationError } from '../../src/lib/errors';
import {
  assertDeliverableUrl,
  isPrivateAddress,
  systemResolve,
  type UnsafeUrlReason,
  UnsafeWebhookUrlError,
} from '../../src/webhooks/ssrf';

// Every lookup goes through this table: the tests never touch the real resolver.
const dnsTable: Record<string, string[]> = {
  'merchant.example': ['93.184.216.34'],
  'dual.example': ['93.184.216.34', '2606:2800:220:1:248:1893:25c8:1946'],
  'rebind.example': ['93.184.216.34', '10.0.0.7'],
  'metadata.example': ['169.254.169.254'],
  'v6local.example': ['fd12:3456:789a::1'],
  'mapped.example': ['::ffff:192.168.1.1'],
  'empty.example': [],
};
const resolve = async (host: string): Promise<string[]> => {
  const answers = dnsTable[host];
  if (!answers) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
  return answers;
};

async function refusal(url: string, allowPrivate = false): Promise<UnsafeWebhookUrlError> {
  const err = await assertDeliverableUrl(url, { allowPrivate, resolve }).then(
    () => {
      throw new Error(`${url} was allowed`);
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UnsafeWebhookUrlError);
  expect(err).toBeInstanceOf(ValidationError);
  const typed = err as UnsafeWebhookUrlError;
  expect(typed.code).toBe('webhook_url_refused');
  expect(typed.status).toBe(422);
  expect(typed.errors).toEqual([{ path: 'url', message: typed.message }]);
  return typed;
}

describe('assertDeliverableUrl', () => {
  it.each([
    ['https://merchant.example/hooks', 'merchant.example'],
    ['http://merchant.example:8443/hooks?x=1', 'merchant.example'],
    ['https://dual.example/', 'dual.example'],
    ['http://93.184.216.34/hook', '93.184.216.34'],
    ['https://[2606:2800:220:1:248:1893:25c8:1946]:9000/', '[2606:2800:220:1:248:1893:25c8:1946]'],
    ['https://1.1.1.1/', '1.1.1.1'],
  ])('allows %s', async (url, hostname) => {
    const parsed = await assertDeliverableUrl(url, { allowPrivate: false, resolve });
    expect(parsed).toBeInstanceOf(URL);
    expect(parsed.hostname).toBe(hostname);
  });

  it.each<[string, UnsafeUrlReason, RegExp]>([
    ['ftp://merchant.example/', 'scheme', /http or https, not ftp/],
    ['file:///etc/passwd', 'scheme', /not file/],
    ['javascript:alert(1)', 'scheme', /not javascript/],
    ['gopher://merchant.example/', 'scheme', /not gopher/],
    ['not a url', 'invalid_url', /not a valid absolute URL/],
    ['/relative/path', 'invalid_url', /not a valid absolute URL/],
    ['https://user:pass@merchant.example/', 'credentials', /user name or password/],
    ['https://user@merchant.example/', 'credentials', /user name or password/],
    ['http://localhost:3000/', 'private_address', /local name/],
    ['http://LOCALHOST./', 'private_address', /local name/],
    ['http://api.localhost/', 'private_address', /local name/],
    ['http://printer.local/', 'private_address', /local name/],
    ['http://metadata.google.internal/', 'private_address', /local name/],
    ['http://127.0.0.1/', 'private_address', /loopback/],
    ['http://127.1.2.3:8080/', 'private_address', /loopback/],
    ['http://127.0.0.1./', 'private_address', /loopback/],
    ['http://10.1.2.3/', 'private_address', /private-network/],
    ['http://172.16.0.1/', 'private_address', /private-network/],
    ['http://172.31.255.255/', 'private_address', /private-network/],
    ['http://192.168.0.10/', 'private_address', /private-network/],
    ['http://169.254.169.254/latest/meta-data/', 'private_address', /cloud metadata/],
    ['http://169.254.1.1/', 'private_address', /link-local/],
    ['http://100.64.0.1/', 'private_address', /carrier-grade NAT/],
    ['http://198.18.0.1/', 'private_address', /benchmarking/],
    ['http://192.0.2.1/', 'private_address', /documentation/],
    ['http://0.0.0.0/', 'private_address', /this network/],
    ['http://224.0.0.1/', 'private_address', /multicast/],
    ['http://255.255.255.255/', 'private_address', /reserved/],
    ['http://[::1]/', 'private_address', /loopback/],
    ['http://[::]/', 'private_address', /unspecified/],
    ['http://[fe80::1]/', 'private_address', /link-local/],
    ['http://[fc00::1]/', 'private_address', /unique-local/],
    ['http://[fd00:ec2::254]/', 'private_address', /unique-local/],
    ['http://[ff02::1]/', 'private_address', /multicast/],
    ['http://[::ffff:127.0.0.1]/', 'private_address', /IPv4-mapped loopback/],
    ['http://[::ffff:169.254.169.254]/', 'private_address', /IPv4-mapped cloud metadata/],
    ['http://[64:ff9b::10.0.0.1]/', 'private_address', /NAT64 private-network/],
    ['http://[2002:7f00:1::]/', 'private_address', /6to4 loopback/],
    ['http://[2001:db8::1]/', 'private_address', /documentation/],
    // Odd IPv4 spellings, normalised to dotted form by the WHATWG parser before the check.
    ['http://2130706433/', 'private_address', /127\.0\.0\.1, a loopback/],
    ['http://0177.0.0.1/', 'private_address', /127\.0\.0\.1, a loopback/],
    ['http://0x7f.1/', 'private_address', /127\.0\.0\.1, a loopback/],
    ['http://0x7f000001/', 'private_address', /127\.0\.0\.1, a loopback/],
    ['http://0xa9fea9fe/', 'private_address', /169\.254\.169\.254, a cloud metadata/],
    ['http://012.1/', 'private_address', /10\.0\.0\.1, a private-network/],
    // Names resolved through the injected resolver.
    ['https://metadata.example/', 'private_address', /resolves to 169\.254\.169\.254/],
    ['https://rebind.example/', 'private_address', /resolves to 10\.0\.0\.7/],
    ['https://v6local.example/', 'private_address', /resolves to fd12:3456:789a::1, a unique-local/],
    ['https://mapped.example/', 'private_address', /IPv4-mapped private-network/],
    ['https://empty.example/', 'unresolvable', /resolves to no address/],
    ['https://nowhere.example/', 'unresolvable', /could not be resolved \(ENOTFOUND\)/],
  ])('refuses %s (%s)', async (url, reason, message) => {
    const err = await refusal(url);
    expect(err.reason).toBe(reason);
    expect(err.message).toMatch(message);
  });

  it('never echoes URL credentials in the error', async () => {
    const err = await refusal('https://admin:hunter2@merchant.example/');
    expect(err.message).not.toContain('hunter2');
  });

  it('allowPrivate lets loopback and private receivers through without resolving', async () => {
    const refuseLookups = async (host: string): Promise<string[]> => {
      throw new Error(`should not resolve ${host}`);
    };
    for (const url of [
      'http://127.0.0.1:4000/hook',
      'http://localhost:4000/',
      'http://[::1]/',
      'http://10.0.0.2/',
    ]) {
      const parsed = await assertDeliverableUrl(url, { allowPrivate: true, resolve: refuseLookups });
      expect(parsed.href).toBe(new URL(url).href);
    }
  });

  it('allowPrivate still refuses other schemes and credentials', async () => {
    expect((await refusal('ftp://127.0.0.1/', true)).reason).toBe('scheme');
    expect((await refusal('file:///etc/passwd', true)).reason).toBe('scheme');
    expect((await refusal('http://u:p@localhost/', true)).reason).toBe('credentials');
  });

  it('does not resolve IP literals', async () => {
    const lookups: string[] = [];
    const spy = async (host: string) => {
      lookups.push(host);
      return ['93.184.216.34'];
    };
    await assertDeliverableUrl('http://93.184.216.34/', { allowPrivate: false, resolve: spy });
    await assertDeliverableUrl('http://[2606:4700::1111]/', { allowPrivate: false, resolve: spy });
    await assertDeliverableUrl('http://merchant.example./', { allowPrivate: false, resolve: spy });
    expect(lookups).toEqual(['merchant.example']);
  });

  it('has a default resolver that answers from the system (localhost: no network needed)', async () => {
    const addresses = await systemResolve('localhost');
    expect(addresses?.length).toBeGreaterThan(0);
    expect(addresses?.every((address) => isPrivateAddress(address))).toBe(true);
  });

  describe('on Cloudflare workerd', () => {
    afterEach(() => {
      vi.unstubAllGlobals();
    });

    it('skips name resolution but still checks literal IPs and local names', async () => {
      vi.stubGlobal('navigator', { userAgent: 'Cloudflare-Workers' });
      expect(await systemResolve('localhost')).toBeUndefined();
      const parsed = await assertDeliverableUrl('https://merchant.example/hook', { allowPrivate: false });
      expect(parsed.hostname).toBe('merchant.example');
      expect((await refusal('http://0x7f.1/')).reason).toBe('private_address');
      await expect(assertDeliverableUrl('http://localhost/', { allowPrivate: false })).rejects.toThrow(
        UnsafeWebhookUrlError,
      );
    });
  });
});

describe('isPrivateAddress', () => {
  it.each([
    '127.0.0.1',
    '10.255.255.255',
    '172.16.0.0',
    '172.31.0.1',
    '192.168.255.1',
    '169.254.169.254',
    '100.64.0.1',
    '100.127.255.255',
    '198.19.255.255',
    '198.51.100.7',
    '203.0.113.9',
    '0.1.2.3',
    '240.0.0.1',
    '::',
    '::1',
    '[::1]',
    'fe80::1',
    'fe80::1%eth0',
    'febf::1',
    'fec0::1',
    'fc00::1',
    'fdff:ffff::1',
    'ff0e::1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:10.0.0.1',
    '::127.0.0.1',
    '64:ff9b::192.168.0.1',
    '64:ff9b:1::1',
    '2001::1',
    '2001:db8:85a3::8a2e:370:7334',
    '3fff::1',
    '100::1',
    // Not canonical addresses: refused rather than guessed at.
    '0177.0.0.1',
    '127.1',
    '2130706433',
    'localhost',
    '1:2:3:4:5:6:7:8:9',
    '1::2::3',
    '',
  ])('%s is not deliverable', (ip) => {
    expect(isPrivateAddress(ip)).toBe(true);
  });

  it.each([
    '93.184.216.34',
    '1.1.1.1',
    '8.8.8.8',
    '172.15.255.255',
    '172.32.0.1',
    '100.63.255.255',
    '100.128.0.1',
    '169.253.255.255',
    '198.17.255.255',
    '198.20.0.0',
    '223.255.255.255',
    '2606:4700:4700::1111',
    '2a00:1450:4001:80b::200e',
    '2001:4860:4860::8888',
    '::ffff:93.184.216.34',
    '::ffff:5db8:d822',
    '64:ff9b::8.8.8.8',
    '2002:5db8:d822::1',
    '2400:2:3:4:5:6:7:8',
  ])('%s is public', (ip) => {
    expect(isPrivateAddress(ip)).toBe(false);
  });
});
