import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { describe, expect, it } from 'vitest';
import { onError, problemType } from '../../src/http/problem';
import {
  AppError,
  AuthError,
  ConflictError,
  NotFoundError,
  UpstreamError,
  ValidationError,
} from '../../src/lib/errors';
import type { Logger } from '../../src/lib/log';

function appThrowing(err: unknown) {
  const logged: { level: string; msg: string; ctx?: Record<string, unknown> }[] = [];
  const log = (level: string) => (msg: string, ctx?: Record<string, unknown>) =>
    logged.push({ level, msg, ctx });
  const logger: Logger = { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
  const app = new Hono<{ Variables: { requestId: string } }>();
  app.use('*', async (c, next) => {
    c.set('requestId', 'req_test');
    await next();
  });
  app.get('/x', () => {
    throw err;
  });
  app.onError(onError(logger));
  return { app, logged };
}

async function problem(err: unknown) {
  const { app, logged } = appThrowing(err);
  const res = await app.request('/x');
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  const body = await res.json();
  expect(body.status).toBe(res.status);
  expect(body.requestId).toBe('req_test');
  return { res, body, logged };
}

describe('onError', () => {
  it.each([
    [new ValidationError('bad', [{ path: 'amount', message: 'm' }]), 422, 'validation_failed'],
    [new NotFoundError('invoice', 'invoice_not_found'), 404, 'invoice_not_found'],
    [new AuthError('api_key_invalid', 'no'), 401, 'api_key_invalid'],
    [new AuthError('forbidden', 'no', 403), 403, 'forbidden'],
    [new ConflictError('idempotency_key_in_flight', 'wait'), 409, 'idempotency_key_in_flight'],
    [new UpstreamError('rate_unavailable', 'no rate'), 503, 'rate_unavailable'],
    [new AppError('custom_thing', 'teapot', { status: 418 }), 418, 'custom_thing'],
  ])('maps %s to its status and code', async (err, status, code) => {
    const { res, body } = await problem(err);
    expect(res.status).toBe(status);
    expect(body).toMatchObject({ code, type: problemType(code), detail: (err as Error).message });
    expect(typeof body.title).toBe('string');
  });

  it('lists field errors and sends the error’s headers', async () => {
    const v = await problem(new ValidationError('bad', [{ path: 'amount', message: 'too many decimals' }]));
    expect(v.body.errors).toEqual([{ path: 'amount', message: 'too many decimals' }]);
    const a = await problem(new AuthError('unauthenticated', 'who?'));
    expect(a.res.headers.get('www-authenticate')).toMatch(/^Bearer realm=/);
    const u = await problem(new UpstreamError('rate_unavailable', 'x'));
    expect(u.res.headers.get('retry-after')).toBe('5');
    const n = await problem(new NotFoundError('invoice'));
    expect(n.body).not.toHaveProperty('errors');
  });

  it('logs 5xx AppErrors with their context, not 4xx', async () => {
    const up = await problem(
      new UpstreamError('rate_unavailable', 'x', new Error('cause'), { assets: ['BTC'] }),
    );
    expect(up.logged).toHaveLength(1);
    expect(up.logged[0]!.ctx).toMatchObject({ code: 'rate_unavailable', assets: ['BTC'] });
    expect((await problem(new NotFoundError('invoice'))).logged).toEqual([]);
  });

  it('maps HTTPExceptions: 413, malformed JSON, others', async () => {
    expect((await problem(new HTTPException(413, { message: 'too big' }))).body.code).toBe(
      'payload_too_large',
    );
    const json = await problem(new HTTPException(400, { message: 'Malformed JSON in request body' }));
    expect(json.body).toMatchObject({ code: 'invalid_json', status: 400 });
    expect(json.body.detail).not.toContain('Malformed');
    expect((await problem(new HTTPException(405, { message: '' }))).body).toMatchObject({
      code: 'http_405',
      title: 'Method Not Allowed',
    });
  });

  it('an unexpected error is a 500 that says nothing about itself and is logged', async () => {
    const { res, body, logged } = await problem(new TypeError('cannot read x of undefined at secret.ts:12'));
    expect(res.status).toBe(500);
    expect(body.code).toBe('internal_error');
    expect(JSON.stringify(body)).not.toMatch(/secret\.ts|undefined|TypeError|stack/);
    expect(logged).toHaveLength(1);
    expect(logged[0]!.level).toBe('error');
    expect(logged[0]!.ctx!.err).toBeInstanceOf(TypeError);
  });
});
