// Reading and checking dashboard forms: same-origin and CSRF checks, repeated fields, and the small
// conversions people type (a tenge amount written "15 000,50").
import type { Context } from 'hono';
import { refuseNulFields } from '../http/nul';
import { AppError, type FieldError } from '../lib/errors';

export type Form = Record<string, string | string[]>;

/** A string field ('' when absent; the first value when repeated). */
export const field = (f: Form, name: string, max = 2000): string => {
  const v = f[name];
  return (Array.isArray(v) ? (v[0] ?? '') : (v ?? '')).slice(0, max);
};

/** Every value of a repeated field (checkboxes). */
export const fields = (f: Form, name: string): string[] => {
  const v = f[name];
  return v === undefined ? [] : (Array.isArray(v) ? v : [v]).slice(0, 100);
};

export async function readForm(c: Context): Promise<Form> {
  const ct = c.req.header('content-type') ?? '';
  if (!/^application\/x-www-form-urlencoded\s*(;|$)/i.test(ct) && !/^multipart\/form-data/i.test(ct))
    return {};
  const body = await c.req.parseBody({ all: true }).catch((err) => {
    // A malformed multipart body (no boundary, truncated parts) is the sender's mistake.
    throw new AppError('invalid_form', 'the form body could not be read', { status: 400, cause: err });
  });
  const out: Form = {};
  for (const [k, v] of Object.entries(body)) {
    if (typeof v === 'string') out[k] = v;
    else if (Array.isArray(v)) out[k] = v.filter((x): x is string => typeof x === 'string');
  }
  refuseNulFields(out);
  return out;
}

/**
 * A POST from another site is refused before the token check (defence in depth). Browsers say where a
 * request comes from in Sec-Fetch-Site; under `Referrer-Policy: no-referrer` their Origin is "null",
 * so Origin is compared only when it names one. Clients that send neither still need the token.
 */
export function sameOrigin(c: Context): boolean {
  const site = c.req.header('sec-fetch-site');
  if (site !== undefined) return site === 'same-origin';
  const origin = c.req.header('origin');
  if (!origin || origin === 'null') return true;
  try {
    return new URL(origin).host === (c.req.header('host') ?? new URL(c.req.url).host);
  } catch {
    return false;
  }
}

/**
 * What people type for tenge → the API's decimal string: spaces (also no-break and thin ones), ₸ and
 * "KZT" dropped; a comma before 1 or 2 last digits is the decimal separator ("15 000,50").
 */
export function normalizeTenge(text: string): string {
  const s = text.replace(/[\s\u00a0\u2009\u202f₸]/g, '').replace(/KZT/i, '');
  if (/^[0-9]+,[0-9]{1,2}$/.test(s)) return s.replace(',', '.');
  // Commas that group thousands ("15,000.50"); anything else is left for the validator to name.
  if (/^[0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?$/.test(s)) return s.replace(/,/g, '');
  return s;
}

/** zod issues → the dashboard's field errors (paths joined with dots). */
export function issuesToFields(
  issues: readonly { path: readonly PropertyKey[]; message: string }[],
  names: Readonly<Record<string, string>> = {},
): FieldError[] {
  return issues.map((i) => {
    const path = i.path.map(String).join('.') || 'form';
    return { path: names[path] ?? path, message: i.message };
  });
}
