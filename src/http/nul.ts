// NUL (U+0000) cannot be stored in a PostgreSQL text or jsonb value: a string carrying one made the
// query fail, and the request a 500. Refused here, once, for every route: in the path, in a query
// parameter, in a form field and anywhere in a JSON body (keys included), naming where it was.
import type { MiddlewareHandler } from 'hono';
import { ValidationError } from '../lib/errors';

const MESSAGE = 'must not contain a NUL (U+0000) character';

function refuse(path: string): never {
  throw new ValidationError('the request has invalid fields', [{ path, message: MESSAGE }]);
}

/** The path of the first string (or key) in a JSON value that holds a NUL; undefined if none. */
export function findNul(v: unknown, at = ''): string | undefined {
  if (typeof v === 'string') return v.includes('\0') ? at || '(body)' : undefined;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const found = findNul(v[i], `${at}[${i}]`);
      if (found) return found;
    }
    return undefined;
  }
  if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      const here = at ? `${at}.${k}` : k;
      if (k.includes('\0')) return here;
      const found = findNul(x, here);
      if (found) return found;
    }
  }
  return undefined;
}

export function refuseNul(): MiddlewareHandler {
  return async (c, next) => {
    const url = c.req.url;
    // Percent-encoded (%00) is the only way a NUL reaches a URL.
    if (/%00/i.test(url)) {
      const u = new URL(url);
      for (const [k, v] of u.searchParams)
        if (k.includes('\0') || v.includes('\0')) refuse(`query.${k.replace(/\0/g, '')}`);
      refuse('path');
    }
    const method = c.req.method;
    // JSON bodies of the API (after its body limit, which reads the stream first). Forms are checked
    // by their readers (refuseNulFields): the pages put their own body limits before reading.
    if ((method === 'POST' || method === 'PUT' || method === 'PATCH') && c.req.path.startsWith('/v1/')) {
      const ct = c.req.header('content-type') ?? '';
      if (/^application\/json\s*(;|$)/i.test(ct)) {
        const text = await c.req.text();
        // A NUL in JSON text is either raw or the \u0000 escape: only then is the body walked.
        if (text.includes('\0') || /\\u0000/i.test(text)) {
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch {
            return next(); // not JSON: the validator says so
          }
          const at = findNul(parsed);
          // The field as the API names it (metadata, not metadata.note), like its validators.
          if (at) refuse(at.split(/[.[]/)[0] || at);
        }
      }
    }
    return next();
  };
}

/** For form readers: refuses the first field whose name or value holds a NUL. */
export function refuseNulFields(form: Readonly<Record<string, string | readonly string[]>>): void {
  for (const [k, v] of Object.entries(form)) {
    if (k.includes('\0') || (typeof v === 'string' ? v.includes('\0') : v.some((x) => x.includes('\0'))))
      refuse(k.replace(/\0/g, '') || '(form)');
  }
}
