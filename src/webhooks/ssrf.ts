// Webhook URLs are chosen by merchants and fetched by the gateway: without these checks a merchant could
// make the gateway call its own admin ports, the cloud metadata service or the operator's LAN (SSRF).
// Checked when an endpoint is registered and again before every delivery, because DNS answers change
// (rebinding); on Node the delivery then connects to the very answers checked (src/webhooks/pinned.ts).
// Runs on workerd too: there the name is not resolved and only literal IPs are checked.
import { ValidationError } from '../lib/errors';

export type UnsafeUrlReason = 'invalid_url' | 'scheme' | 'credentials' | 'private_address' | 'unresolvable';

/** The URL may not receive webhooks; `reason` says which rule refused it. */
export class UnsafeWebhookUrlError extends ValidationError {
  readonly reason: UnsafeUrlReason;
  constructor(reason: UnsafeUrlReason, message: string) {
    super(message, [{ path: 'url', message }], 'webhook_url_refused', 422);
    this.reason = reason;
  }
}

export interface DeliverableUrlOptions {
  /** Sandbox only: lets loopback and private receivers through (the scheme rules still apply). */
  readonly allowPrivate: boolean;
  /** Resolves a host name to its addresses; defaults to the system resolver (Node), none on workerd. */
  readonly resolve?: (host: string) => Promise<readonly string[] | undefined>;
}

/** Names that never lead to the public internet, refused even where nothing is resolved. */
const LOCAL_NAME_SUFFIXES = ['localhost', 'local', 'internal', 'home.arpa'];

/** Parses `url` and refuses anything that is not a public http(s) receiver. */
export async function assertDeliverableUrl(url: string, opts: DeliverableUrlOptions): Promise<URL> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UnsafeWebhookUrlError('invalid_url', 'webhook URL is not a valid absolute URL');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new UnsafeWebhookUrlError(
      'scheme',
      `webhook URL must use http or https, not ${parsed.protocol.slice(0, -1)}`,
    );
  }
  if (parsed.username !== '' || parsed.password !== '') {
    throw new UnsafeWebhookUrlError(
      'credentials',
      'webhook URL must not contain a user name or password; receivers authenticate deliveries by ' +
        'their signature',
    );
  }
  if (opts.allowPrivate) return parsed;

  // The WHATWG parser has already turned 2130706433, 0177.0.0.1 and 0x7f.1 into 127.0.0.1.
  const host = parsed.hostname.startsWith('[') ? parsed.hostname.slice(1, -1) : parsed.hostname;
  if (isIpLiteral(host)) {
    const range = describeAddress(host);
    if (range) {
      throw new UnsafeWebhookUrlError(
        'private_address',
        `webhook URL points to ${host}, a ${range} address; only public addresses can receive webhooks`,
      );
    }
    return parsed;
  }

  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  if (LOCAL_NAME_SUFFIXES.some((suffix) => name === suffix || name.endsWith(`.${suffix}`))) {
    throw new UnsafeWebhookUrlError(
      'private_address',
      `webhook URL host ${name} is a local name; only public hosts can receive webhooks`,
    );
  }

  await resolvePublicAddresses(name, opts.resolve);
  return parsed;
}

/**
 * Resolves a host name and refuses it unless every answer is a public address; the answers, or
 * undefined where the runtime has no resolver (workerd). Webhook deliveries on Node connect to these
 * very answers (src/webhooks/pinned.ts), so a name cannot resolve to a checked address for the check
 * and to another one for the connection.
 */
export async function resolvePublicAddresses(
  name: string,
  resolve: DeliverableUrlOptions['resolve'] = systemResolve,
): Promise<readonly string[] | undefined> {
  let addresses: readonly string[] | undefined;
  try {
    addresses = await resolve(name);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    throw new UnsafeWebhookUrlError(
      'unresolvable',
      `webhook URL host ${name} could not be resolved${typeof code === 'string' ? ` (${code})` : ''}`,
    );
  }
  if (addresses === undefined) return undefined; // no resolver in this runtime (workerd)
  if (addresses.length === 0) {
    throw new UnsafeWebhookUrlError('unresolvable', `webhook URL host ${name} resolves to no address`);
  }
  // Any private answer refuses: a resolver may hand out either address on the next lookup.
  for (const address of addresses) {
    const range = describeAddress(address);
    if (range) {
      throw new UnsafeWebhookUrlError(
        'private_address',
        `webhook URL host ${name} resolves to ${address}, a ${range} address; only public addresses ` +
          'can receive webhooks',
      );
    }
  }
  return addresses;
}

/**
 * True unless `ip` is a globally reachable unicast address. Anything that is not a canonical IPv4 or
 * IPv6 address is also true: when in doubt, do not deliver.
 */
export function isPrivateAddress(ip: string): boolean {
  return describeAddress(ip) !== undefined;
}

/** The name of the special-purpose range holding `ip`, or undefined for a public address. */
export function describeAddress(ip: string): string | undefined {
  const bare = ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip;
  const v4 = parseIPv4(bare);
  if (v4 !== undefined) return describeIPv4(v4);
  const v6 = parseIPv6(bare.replace(/%.*$/, ''));
  if (v6 !== undefined) return describeIPv6(v6);
  return 'malformed';
}

// IANA IPv4 special-purpose registry: every block that is not globally reachable unicast.
const IPV4_RANGES: ReadonlyArray<readonly [string, number, string]> = [
  ['0.0.0.0', 8, '"this network"'],
  ['10.0.0.0', 8, 'private-network'],
  ['100.64.0.0', 10, 'carrier-grade NAT'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.169.254', 32, 'cloud metadata'],
  ['169.254.0.0', 16, 'link-local'],
  ['172.16.0.0', 12, 'private-network'],
  ['192.0.0.0', 24, 'IETF protocol'],
  ['192.0.2.0', 24, 'documentation'],
  ['192.88.99.0', 24, '6to4 relay'],
  ['192.168.0.0', 16, 'private-network'],
  ['198.18.0.0', 15, 'benchmarking'],
  ['198.51.100.0', 24, 'documentation'],
  ['203.0.113.0', 24, 'documentation'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved'],
];

function describeIPv4(value: number): string | undefined {
  for (const [base, bits, label] of IPV4_RANGES) {
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    if ((value & mask) >>> 0 === (parseIPv4(base)! & mask) >>> 0) return label;
  }
  return undefined;
}

function describeIPv6(value: bigint): string | undefined {
  const embeddedV4 = (shift: bigint) => Number((value >> shift) & 0xffffffffn);
  const top = (bits: number) => value >> BigInt(128 - bits);
  if (value === 0n) return 'unspecified';
  if (value === 1n) return 'loopback';
  // Addresses that carry an IPv4 address are as public as the IPv4 address they carry.
  if (top(96) === 0xffffn) return suffix(describeIPv4(embeddedV4(0n)), 'IPv4-mapped');
  if (top(96) === 0x64ff9b0000000000000000n) return suffix(describeIPv4(embeddedV4(0n)), 'NAT64');
  if (top(16) === 0x2002n) return suffix(describeIPv4(embeddedV4(80n)), '6to4');
  if (top(96) === 0n) return 'IPv4-compatible';
  if (top(8) === 0xffn) return 'multicast';
  if (top(10) === 0x3fan) return 'link-local';
  if (top(7) === 0x7en) return 'unique-local';
  // Only 2000::/3 is allocated as global unicast; inside it, the IETF and documentation blocks.
  if (top(3) !== 1n) return 'reserved';
  if (top(23) === 0x2001n << 7n) return 'IETF protocol';
  if (top(32) === 0x20010db8n) return 'documentation';
  if (top(20) === 0x3fff0n) return 'documentation';
  return undefined;
}

function suffix(range: string | undefined, kind: string): string | undefined {
  return range === undefined ? undefined : `${kind} ${range}`;
}

function isIpLiteral(host: string): boolean {
  return parseIPv4(host) !== undefined || parseIPv6(host) !== undefined;
}

/** Dotted-quad decimal only; leading zeros are refused (some stacks read them as octal). */
function parseIPv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^(0|[1-9]\d{0,2})$/.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return value;
}

function parseIPv6(text: string): bigint | undefined {
  if (!text.includes(':')) return undefined;
  let head = text;
  let tailGroups: number[] = [];
  // A trailing dotted IPv4 fills the last two groups (::ffff:127.0.0.1).
  const lastColon = text.lastIndexOf(':');
  if (text.slice(lastColon + 1).includes('.')) {
    const v4 = parseIPv4(text.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    tailGroups = [v4 >>> 16, v4 & 0xffff];
    head = text.slice(0, lastColon + 1);
    if (head.endsWith(':') && !head.endsWith('::')) head = head.slice(0, -1);
  }
  const halves = head.split('::');
  if (halves.length > 2) return undefined;
  const parseGroups = (part: string): number[] | undefined => {
    if (part === '') return [];
    const groups: number[] = [];
    for (const group of part.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return undefined;
      groups.push(Number.parseInt(group, 16));
    }
    return groups;
  };
  const left = parseGroups(halves[0]!);
  const right = halves.length === 2 ? parseGroups(halves[1]!) : [];
  if (!left || !right) return undefined;
  const explicit = left.length + right.length + tailGroups.length;
  let groups: number[];
  if (halves.length === 2) {
    if (explicit > 7) return undefined;
    groups = [...left, ...new Array<number>(8 - explicit).fill(0), ...right, ...tailGroups];
  } else {
    if (explicit !== 8) return undefined;
    groups = [...left, ...tailGroups];
  }
  return groups.reduce((acc, group) => (acc << 16n) | BigInt(group), 0n);
}

/**
 * The default resolver: Node's getaddrinfo, loaded lazily so this module still loads where node:dns
 * does not exist. Undefined on workerd, which has no system resolver (only literal IPs are checked).
 */
export async function systemResolve(host: string): Promise<string[] | undefined> {
  if (onWorkerd()) return undefined;
  let dns: typeof import('node:dns/promises');
  try {
    dns = await import('node:dns/promises');
  } catch {
    return undefined;
  }
  const answers = await dns.lookup(host, { all: true, verbatim: true });
  return answers.map((answer) => answer.address);
}

/** True inside workerd (Cloudflare Workers), which has neither a system resolver nor raw sockets. */
export function onWorkerd(): boolean {
  const nav = (globalThis as { navigator?: { userAgent?: string } }).navigator;
  return nav?.userAgent === 'Cloudflare-Workers';
}
