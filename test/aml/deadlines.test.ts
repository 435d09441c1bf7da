import { describe, expect, it } from 'vitest';
import { afmDate, afmDateTime, nextWorkingDayEnd, suspiciousDeadline } from '../../src/aml/deadlines';

// Almaty is UTC+5 (since March 2024): local 23:59:59.999 is 18:59:59.999 UTC.
describe('report deadlines (Asia/Almaty, Monday to Friday)', () => {
  it.each([
    ['a Thursday → Friday', '2025-03-06T08:00:00Z', '2025-03-07T18:59:59.999Z'],
    ['a Friday → Monday', '2025-03-07T08:00:00Z', '2025-03-10T18:59:59.999Z'],
    [
      'a Friday late evening in Almaty (still Friday there) → Monday',
      '2025-03-07T18:30:00Z',
      '2025-03-10T18:59:59.999Z',
    ],
    [
      'Friday 20:00 UTC is already Saturday in Almaty → Monday',
      '2025-03-07T20:00:00Z',
      '2025-03-10T18:59:59.999Z',
    ],
    ['a Saturday → Monday', '2025-03-08T12:00:00Z', '2025-03-10T18:59:59.999Z'],
    ['a Sunday → Monday', '2025-03-09T12:00:00Z', '2025-03-10T18:59:59.999Z'],
    ['Sunday 19:30 UTC is Monday in Almaty → Tuesday', '2025-03-09T19:30:00Z', '2025-03-11T18:59:59.999Z'],
  ])('threshold: %s', (_label, from, due) => {
    expect(nextWorkingDayEnd(new Date(from)).toISOString()).toBe(due);
  });

  it('suspicious: 24 hours after recognition', () => {
    expect(suspiciousDeadline(new Date('2025-03-07T10:00:00Z')).toISOString()).toBe(
      '2025-03-08T10:00:00.000Z',
    );
  });

  it('formats dates as dd.mm.yyyy [hh24:mi:ss] in Almaty time', () => {
    expect(afmDate(new Date('2025-12-31T19:30:00Z'))).toBe('01.01.2026');
    expect(afmDateTime(new Date('2025-01-02T03:04:05Z'))).toBe('02.01.2025 08:04:05');
  });
});
