// An outside screening provider over HTTP. The default shape is Chainalysis' sanctions API:
// `GET {url}/api/v1/address/{address}` with `X-API-Key` → `{ identifications: [...] }`, a non-empty
// list meaning sanctioned (severe). A generic JSON shape is accepted too: `{ risk, reasons? }`.
// A URL holding `{address}` is used as a template instead of the Chainalysis path.
// A timeout, an HTTP error or an unreadable body is a failure: `hold` (default) grades it high, so the
// payment waits for a person; `allow` records it and lets the payment through.
import { fetchText } from '../../lib/http';
import {
  type Reason,
  RISKS,
  type Risk,
  result,
  riskRank,
  type Screener,
  type ScreenerResult,
} from '../types';

export type FailPolicy = 'hold' | 'allow';

export interface ProviderOptions {
  readonly url: string;
  readonly apiKey?: string | undefined;
  readonly timeoutMs: number;
  readonly failPolicy: FailPolicy;
  readonly name?: string;
  readonly fetchImpl?: typeof fetch;
}

interface Verdict {
  risk: Risk;
  reasons: Reason[];
}

class ProviderAnswerError extends Error {
  override readonly name = 'ProviderAnswerError';
}

export function providerUrl(base: string, address: string): string {
  const a = encodeURIComponent(address);
  if (base.includes('{address}')) return base.replaceAll('{address}', a);
  return `${base.replace(/\/+$/, '')}/api/v1/address/${a}`;
}

/** Reads either answer shape; anything else is an error (never a silent "no hit"). */
export function readProviderAnswer(address: string, body: unknown): Verdict {
  if (!body || typeof body !== 'object') throw new ProviderAnswerError('the answer is not a JSON object');
  const o = body as Record<string, unknown>;
  if (Array.isArray(o.identifications)) {
    if (o.identifications.length === 0) return { risk: 'none', reasons: [] };
    const what = o.identifications
      .map((i) => {
        const x = (i ?? {}) as Record<string, unknown>;
        return [x.category, x.name].filter((v) => typeof v === 'string' && v).join(': ');
      })
      .filter(Boolean)
      .join('; ');
    return {
      risk: 'severe',
      reasons: [{ code: 'provider_identification', message: `${address}: ${what || 'identified'}` }],
    };
  }
  if (typeof o.risk === 'string' && (RISKS as readonly string[]).includes(o.risk.toLowerCase())) {
    const risk = o.risk.toLowerCase() as Risk;
    const given = Array.isArray(o.reasons) ? o.reasons : [];
    const reasons = given
      .map((r) => (r ?? {}) as Record<string, unknown>)
      .filter((r) => typeof r.message === 'string')
      .map((r) => ({
        code: typeof r.code === 'string' ? `provider_${r.code}` : 'provider_reason',
        message: `${address}: ${String(r.message)}`,
      }));
    if (risk !== 'none' && reasons.length === 0) {
      reasons.push({ code: 'provider_risk', message: `${address}: graded ${risk} by the provider` });
    }
    return { risk, reasons };
  }
  throw new ProviderAnswerError('the answer has neither "identifications" nor "risk"');
}

export function createProviderScreener(opts: ProviderOptions): Screener {
  const name = opts.name ?? 'provider';
  const failure = (address: string, err: unknown): Verdict => ({
    risk: opts.failPolicy === 'hold' ? 'high' : 'none',
    reasons: [
      {
        code: 'provider_unavailable',
        message: `${name} could not screen ${address} (${(err as Error).message}); policy: ${opts.failPolicy}`,
      },
    ],
  });

  async function one(address: string): Promise<Verdict> {
    try {
      const res = await fetchText(providerUrl(opts.url, address), {
        timeoutMs: opts.timeoutMs,
        headers: { accept: 'application/json', ...(opts.apiKey ? { 'X-API-Key': opts.apiKey } : {}) },
        maxBytes: 256 * 1024,
        ...(opts.fetchImpl ? { fetchImpl: opts.fetchImpl } : {}),
      });
      if (res.status < 200 || res.status > 299) throw new ProviderAnswerError(`HTTP ${res.status}`);
      let body: unknown;
      try {
        body = JSON.parse(res.text);
      } catch {
        throw new ProviderAnswerError('the answer is not JSON');
      }
      return readProviderAnswer(address, body);
    } catch (err) {
      return failure(address, err);
    }
  }

  return {
    name,
    async screen(s): Promise<ScreenerResult> {
      const verdicts = await Promise.all([...new Set(s.addresses)].map(one));
      let risk: Risk = 'none';
      for (const v of verdicts) if (riskRank(v.risk) > riskRank(risk)) risk = v.risk;
      return result(
        name,
        risk,
        verdicts.flatMap((v) => v.reasons),
      );
    },
  };
}
