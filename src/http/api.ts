// Every sub-app starts here, so all of them validate alike: a request the route's zod schemas refuse
// becomes one ValidationError (422 problem+json naming each field) in the one error funnel.
import { OpenAPIHono } from '@hono/zod-openapi';
import type { Env } from 'hono';
import { type FieldError, ValidationError } from '../lib/errors';
import type { BaseEnv } from './env';

type Issue = {
  readonly path: readonly PropertyKey[];
  readonly message: string;
  readonly code?: string;
  readonly keys?: readonly string[];
};

/** zod issues → field errors: `options[0]`, `metadata.table`, one entry per unknown key. */
export function zodIssuesToFieldErrors(issues: readonly Issue[], prefix = ''): FieldError[] {
  const out: FieldError[] = [];
  for (const i of issues) {
    const base = i.path.reduce<string>(
      (acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)),
      prefix,
    );
    if (i.code === 'unrecognized_keys' && i.keys) {
      for (const k of i.keys) out.push({ path: base ? `${base}.${k}` : k, message: 'unknown field' });
    } else {
      out.push({ path: base || '(body)', message: i.message });
    }
  }
  return out;
}

/**
 * A sub-app (or the root app) with the shared validation hook. E is its context: BaseEnv for
 * public routes, MerchantEnv, RegulatorEnv or a SessionEnv behind their authentication.
 */
export function newApi<E extends Env = BaseEnv>(): OpenAPIHono<E> {
  return new OpenAPIHono<E>({
    defaultHook: (result) => {
      if (!result.success) {
        const prefix = result.target === 'header' ? 'header' : '';
        throw new ValidationError(
          'the request has invalid fields',
          zodIssuesToFieldErrors(result.error.issues, prefix),
        );
      }
    },
  });
}
