// The small conversions people type into dashboard forms (a tenge amount written "15 000,50").
import type { FieldError } from '../lib/errors';

export { type Form, field, fields, readForm, sameOrigin } from '../auth/forms';

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
