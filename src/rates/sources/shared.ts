// What the network sources share: one way to call an upstream, one rule for what a usable value is.
import { UpstreamError } from '../../lib/errors';
import { fetchText } from '../../lib/http';
import { type Decimal, parseDecimal } from '../../lib/money';
import { parseJsonExact } from '../json';
import type { PairQuote, SourceOptions } from '../types';

/** A source value as a positive exact decimal; zero, negative, non-numeric or absurd values give undefined. */
export function positiveDecimal(raw: unknown): Decimal | undefined {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > 64) return undefined;
  try {
    const d = parseDecimal(raw);
    return d.value > 0n && d.scale <= 40 ? d : undefined;
  } catch {
    return undefined;
  }
}

export function malformed(service: string, what: string, cause?: unknown): UpstreamError {
  return new UpstreamError('upstream_malformed', `${service}: ${what}`, cause);
}

/** GETs a body; transport errors, timeouts and non-2xx answers become UpstreamError naming the service. */
export async function getText(
  service: string,
  url: string,
  options: SourceOptions,
  accept: string,
  signal?: AbortSignal,
): Promise<string> {
  let res: Awaited<ReturnType<typeof fetchText>>;
  try {
    res = await fetchText(url, {
      timeoutMs: options.timeoutMs,
      fetchImpl: options.fetchImpl,
      signal,
      headers: { accept },
      maxBytes: 1024 * 1024,
    });
  } catch (err) {
    throw new UpstreamError('upstream_unavailable', `${service}: ${(err as Error).message}`, err, { url });
  }
  if (res.status < 200 || res.status > 299) {
    throw new UpstreamError('upstream_status', `${service} answered HTTP ${res.status}`, undefined, {
      status: res.status,
      url,
    });
  }
  return res.text;
}

/** GETs JSON with numbers kept exact (see parseJsonExact). */
export async function getJson(
  service: string,
  url: string,
  options: SourceOptions,
  signal?: AbortSignal,
): Promise<unknown> {
  const text = await getText(service, url, options, 'application/json', signal);
  try {
    return parseJsonExact(text);
  } catch (err) {
    throw malformed(service, 'the body is not JSON', err);
  }
}

/** The usable quotes, or a throw when there are none: a source that yields nothing has failed. */
export function requireSome(service: string, quotes: PairQuote[], problems: string[]): PairQuote[] {
  if (quotes.length > 0) return quotes;
  throw new UpstreamError(
    'rate_source_empty',
    `${service} gave no usable rate: ${problems.join('; ') || 'none'}`,
  );
}

export function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
