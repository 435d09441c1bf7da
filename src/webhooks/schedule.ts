// When to try a delivery again. The default spreads ten attempts over about three days (Standard
// Webhooks' suggestion), so a receiver that is down for a weekend still gets every event.

/** Delay before each attempt, the first one relative to the event: 0, 5 s, 5 min, …, 24 h (≈ 3.1 days). */
export const DEFAULT_RETRY_SCHEDULE = '0,5s,5m,30m,2h,5h,10h,14h,20h,24h';

const UNIT_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};
const MAX_DELAY_MS = 7 * 86_400_000;
const MAX_ATTEMPTS = 50;

export class RetryScheduleError extends Error {
  override readonly name = 'RetryScheduleError';
}

/**
 * Parses `0,5s,5m,2h` (units ms, s, m, h, d; a bare number is seconds) into milliseconds.
 * Entry i is the delay before attempt i + 1; the count of entries is the count of attempts.
 */
export function parseRetrySchedule(text: string): number[] {
  const parts = text.split(',').map((p) => p.trim());
  if (parts.length === 0 || parts.length > MAX_ATTEMPTS || parts.some((p) => p === '')) {
    throw new RetryScheduleError(
      `expected 1 to ${MAX_ATTEMPTS} comma-separated delays such as "${DEFAULT_RETRY_SCHEDULE}"`,
    );
  }
  return parts.map((part) => {
    const m = /^([0-9]{1,9})(ms|s|m|h|d)?$/.exec(part);
    if (!m) throw new RetryScheduleError(`"${part}" is not a delay like 0, 500ms, 5s, 5m, 2h or 1d`);
    const ms = Number(m[1]) * UNIT_MS[m[2] ?? 's']!;
    if (ms > MAX_DELAY_MS) throw new RetryScheduleError(`"${part}" is longer than 7 days`);
    return ms;
  });
}

/** `delayMs` moved by up to ±`jitterPercent` %, so endpoints that failed together do not retry together. */
export function withJitter(
  delayMs: number,
  jitterPercent: number,
  random: () => number = Math.random,
): number {
  if (delayMs === 0 || jitterPercent === 0) return delayMs;
  const spread = (delayMs * jitterPercent) / 100;
  return Math.max(0, Math.round(delayMs + (random() * 2 - 1) * spread));
}

/**
 * A `Retry-After` header (seconds or an HTTP date) as milliseconds from `nowMs`, capped at `capMs`;
 * undefined when absent or unreadable.
 */
export function retryAfterMs(header: string | null, nowMs: number, capMs: number): number | undefined {
  if (!header) return undefined;
  const text = header.trim();
  let ms: number;
  if (/^[0-9]{1,10}$/.test(text)) ms = Number(text) * 1000;
  else {
    const at = Date.parse(text);
    if (Number.isNaN(at)) return undefined;
    ms = at - nowMs;
  }
  return Math.min(Math.max(ms, 0), capMs);
}
