// Report deadlines (FM1.md): a threshold operation by the end of the next working day, a suspicious
// one within 24 hours of recognising it. Working days are Monday to Friday in Asia/Almaty; public
// holidays are not known here, so a deadline before a holiday is early, never late.

export const AFM_TIME_ZONE = 'Asia/Almaty';
export const SUSPICIOUS_DEADLINE_MS = 24 * 60 * 60 * 1000;

export interface LocalParts {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
  /** 0 Sunday … 6 Saturday. */
  readonly weekday: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** The wall-clock reading of `at` in `timeZone`. */
export function localParts(at: Date, timeZone = AFM_TIME_ZONE): LocalParts {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      weekday: 'short',
    });
    formatters.set(timeZone, f);
  }
  const p: Record<string, string> = {};
  for (const part of f.formatToParts(at)) p[part.type] = part.value;
  return {
    year: Number(p.year),
    month: Number(p.month),
    day: Number(p.day),
    hour: Number(p.hour),
    minute: Number(p.minute),
    second: Number(p.second),
    weekday: WEEKDAYS.indexOf(p.weekday ?? ''),
  };
}

/** The instant at which the wall clock of `timeZone` reads the given local time. */
export function zonedTime(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  ms: number,
  timeZone = AFM_TIME_ZONE,
): Date {
  const wanted = Date.UTC(year, month - 1, day, hour, minute, second, ms);
  let guess = wanted;
  // Two rounds settle any offset change (the second corrects a guess that crossed a transition).
  for (let i = 0; i < 2; i++) {
    const p = localParts(new Date(guess), timeZone);
    const seen = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second, ms);
    guess += wanted - seen;
  }
  return new Date(guess);
}

/** The last millisecond of the next working day (Mon–Fri) after `from`, in Asia/Almaty. */
export function nextWorkingDayEnd(from: Date, timeZone = AFM_TIME_ZONE): Date {
  const p = localParts(from, timeZone);
  // Walk calendar days with UTC arithmetic on the local date: no offset can skip or repeat a day.
  let day = Date.UTC(p.year, p.month - 1, p.day);
  for (;;) {
    day += 86_400_000;
    const d = new Date(day);
    const wd = d.getUTCDay();
    if (wd !== 0 && wd !== 6) {
      return zonedTime(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), 23, 59, 59, 999, timeZone);
    }
  }
}

export const suspiciousDeadline = (recognisedAt: Date): Date =>
  new Date(recognisedAt.getTime() + SUSPICIOUS_DEADLINE_MS);

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** dd.mm.yyyy in Asia/Almaty (the AFM's date format). */
export function afmDate(at: Date): string {
  const p = localParts(at);
  return `${pad(p.day)}.${pad(p.month)}.${pad(p.year, 4)}`;
}

/** dd.mm.yyyy hh24:mi:ss in Asia/Almaty. */
export function afmDateTime(at: Date): string {
  const p = localParts(at);
  return `${afmDate(at)} ${pad(p.hour)}:${pad(p.minute)}:${pad(p.second)}`;
}
