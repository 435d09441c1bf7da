// Reading the forms of the server-rendered pages (dashboard, regulator console): one reader, the
// same-origin check, and the CSRF token comparison every state-changing form goes through.
import type { Context } from 'hono';
import { refuseNulFields } from '../http/nul';
import { timingSafeEqualString } from '../lib/ct';
import { AppError } from '../lib/errors';

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

/** The body of a form post (urlencoded or multipart); anything else reads as an empty form. */
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

/** The form's `csrf` field matches `expected` (constant time), and the post came from this site. */
export function csrfHolds(c: Context, form: Form, expected: string | undefined): boolean {
  const token = field(form, 'csrf', 200);
  return sameOrigin(c) && !!token && !!expected && timingSafeEqualString(token, expected);
}
