// Shared by the invoice API tests: a rates service the test can stop or slow down, a snapshot of
// every table a create writes to, and the checks every problem+json response must pass.
import { expect } from 'vitest';
import type { AssetId } from '../../src/chains/networks';
import type { Sql } from '../../src/db/client';
import { createRatesService, type RatesService } from '../../src/rates/aggregate';
import { createFixedSource } from '../../src/rates/sources/fixed';
import { type RateSnapshot, RateUnavailableError } from '../../src/rates/types';

export interface ControlledRates extends RatesService {
  /** 'down': every call fails as no rate is available; 'crash': a plain (unexpected) error. */
  mode: 'up' | 'down' | 'crash';
  calls: number;
  /** When set, getRates waits for it: a request is held "in flight" until the test releases it. */
  gate: Promise<void> | undefined;
  /** Resolves on the next getRates call (so a test knows the request reached it). */
  nextCall(): Promise<void>;
}

export function controlledRates(): ControlledRates {
  const fixed = createRatesService({ sources: [createFixedSource()], maxAgeMs: 60_000, cacheTtlMs: 0 });
  let waiters: (() => void)[] = [];
  const rates: ControlledRates = {
    mode: 'up',
    calls: 0,
    gate: undefined,
    nextCall: () => new Promise<void>((r) => waiters.push(r)),
    async getRates(assets: readonly AssetId[]): Promise<Map<AssetId, RateSnapshot>> {
      rates.calls++;
      const w = waiters;
      waiters = [];
      for (const r of w) r();
      if (rates.gate) await rates.gate;
      if (rates.mode === 'down') throw new RateUnavailableError(assets);
      if (rates.mode === 'crash') throw new Error('rates exploded: postgres://app:hunter2@db/x');
      return fixed.getRates(assets);
    },
    refresh: () => fixed.refresh(),
  };
  return rates;
}

export interface WriteSnapshot {
  invoices: number;
  options: number;
  outbox: number;
  payments: number;
  audit: number;
  idempotency: number;
  indexes: number;
}

/** Row counts of everything invoice creation could write, and the derivation counters. */
export async function writeSnapshot(sql: Sql): Promise<WriteSnapshot> {
  const [r] = await sql`select
    (select count(*)::int from invoices) as invoices,
    (select count(*)::int from payment_options) as options,
    (select count(*)::int from outbox) as outbox,
    (select count(*)::int from payments) as payments,
    (select count(*)::int from audit_log) as audit,
    (select count(*)::int from idempotency_keys) as idempotency,
    (select coalesce(sum(next_index), 0)::int from derivation_indexes) as indexes`;
  return r as unknown as WriteSnapshot;
}

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  requestId: string;
  errors?: { path: string; message: string }[];
}

/** Every problem: RFC 9457 media type, a stable code, the request id, status = the HTTP status. */
export async function expectProblem(res: Response, status: number, code?: string): Promise<ProblemBody> {
  const text = await res.text();
  expect({ status: res.status, body: text }).toMatchObject({ status });
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  const body = JSON.parse(text) as ProblemBody;
  expect(body.status).toBe(status);
  expect(typeof body.code).toBe('string');
  expect(body.code).toMatch(/^[a-z0-9_]+$/);
  if (code) expect(body.code).toBe(code);
  expect(body.requestId).toBeTruthy();
  expect(res.headers.get('x-request-id')).toBe(body.requestId);
  expect(typeof body.title).toBe('string');
  expect(typeof body.detail).toBe('string');
  expect(body.type).toContain(body.code);
  // Never a stack trace or an internal detail.
  expect(text).not.toMatch(/\bat .*\.ts:\d+|node_modules|hunter2/);
  return body;
}

/** The field paths a problem names. */
export const paths = (p: ProblemBody): string[] => (p.errors ?? []).map((e) => e.path);
