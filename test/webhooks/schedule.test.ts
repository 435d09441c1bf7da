import { describe, expect, it } from 'vitest';
import {
  DEFAULT_RETRY_SCHEDULE,
  parseRetrySchedule,
  RetryScheduleError,
  retryAfterMs,
  withJitter,
} from '../../src/webhooks/schedule';

describe('parseRetrySchedule', () => {
  it('reads the default schedule: ten attempts over about three days', () => {
    const ms = parseRetrySchedule(DEFAULT_RETRY_SCHEDULE);
    expect(ms).toEqual([
      0, 5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 50_400_000, 72_000_000, 86_400_000,
    ]);
    const hours = ms.reduce((a, b) => a + b, 0) / 3_600_000;
    expect(hours).toBeGreaterThan(72);
    expect(hours).toBeLessThan(80);
  });

  it('accepts every unit, bare seconds and spaces', () => {
    expect(parseRetrySchedule('0, 250ms ,2,3s,1m,1h,1d')).toEqual([
      0, 250, 2000, 3000, 60_000, 3_600_000, 86_400_000,
    ]);
  });

  it.each(['', '5s,,5m', '5x', '-1', '1.5s', '8d', Array(51).fill('0').join(',')])(
    'refuses %j with a message',
    (text) => {
      expect(() => parseRetrySchedule(text)).toThrow(RetryScheduleError);
    },
  );
});

describe('withJitter', () => {
  it('stays within ±jitter % and reaches both ends', () => {
    expect(withJitter(100_000, 10, () => 0)).toBe(90_000);
    expect(withJitter(100_000, 10, () => 1)).toBe(110_000);
    expect(withJitter(100_000, 10, () => 0.5)).toBe(100_000);
    for (let i = 0; i < 200; i++) {
      const v = withJitter(300_000, 10);
      expect(v).toBeGreaterThanOrEqual(270_000);
      expect(v).toBeLessThanOrEqual(330_000);
    }
  });

  it('leaves zero and jitter-free delays alone', () => {
    expect(withJitter(0, 10, () => 1)).toBe(0);
    expect(withJitter(5000, 0, () => 1)).toBe(5000);
  });
});

describe('retryAfterMs', () => {
  const now = Date.parse('2026-03-01T12:00:00Z');
  it('reads seconds and HTTP dates, capped', () => {
    expect(retryAfterMs('120', now, 86_400_000)).toBe(120_000);
    expect(retryAfterMs('Sun, 01 Mar 2026 12:10:00 GMT', now, 86_400_000)).toBe(600_000);
    expect(retryAfterMs('999999', now, 3_600_000)).toBe(3_600_000);
    expect(retryAfterMs('Sun, 01 Mar 2026 11:00:00 GMT', now, 3_600_000)).toBe(0);
  });

  it('ignores what it cannot read', () => {
    expect(retryAfterMs(null, now, 1000)).toBeUndefined();
    expect(retryAfterMs('soon', now, 1000)).toBeUndefined();
  });
});
