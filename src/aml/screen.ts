// The screening service: runs every screener on a payer (before an EVM intent is signed) or on a
// payment's senders (inside the payment's transaction), records the screening, and applies the policy
// of SPEC section 7:
//   severe → refuse the payer / hold the payment;  high → hold and open a case;
//   medium → a case without a hold;  a threshold operation → a draft FM-1 (reason 1), due next working day.
// Callers learn only `allowed` / `held`: list details stay with the regulators (no tipping-off).

import { appendAudit } from '../audit/log';
import type { AssetId, NetworkId } from '../chains/networks';
import { NETWORKS, parseOption } from '../chains/networks';
import type { Queryable, Sql, Tx } from '../db/client';
import { loadInvoice } from '../invoices/repository';
import { holdForReview, type StateDeps, setReview } from '../invoices/state';
import type { Logger } from '../lib/log';
import { openCase } from './cases';
import { nextWorkingDayEnd, suspiciousDeadline } from './deadlines';
import { listNames, listsVersion, loadIndex } from './lists/store';
import { draftReport, type ReporterConfig } from './reports';
import { createOracleScreener, type OracleTarget } from './screeners/oracle';
import { createProviderScreener, type FailPolicy } from './screeners/provider';
import { createSanctionsScreener, type ListSnapshot } from './screeners/sanctions';
import { createStructuringScreener } from './screeners/structuring';
import { createThresholdScreener } from './screeners/threshold';
import {
  maxRisk,
  type Reason,
  type Risk,
  type Screener,
  type ScreenerResult,
  type ScreenSubject,
} from './types';

export interface PayerScreeningInput {
  readonly network: NetworkId;
  readonly address: string;
  readonly invoiceId: string;
  readonly amountTiyn: bigint;
  readonly asset?: AssetId;
}

export interface PaymentScreeningInput {
  readonly invoiceId: string;
  readonly paymentId: string;
  readonly merchantId: string;
  readonly network: NetworkId;
  readonly senders: readonly string[];
  readonly amountTiyn: bigint;
  readonly asset?: AssetId;
  /**
   * Called from recordPayment's screen hook, before the invoice's state is derived: a hold only
   * marks the invoice, and recordPayment derives the state and writes `invoice.held`.
   */
  readonly deferState?: boolean;
}

export interface PaymentScreeningOutcome {
  readonly risk: Risk;
  readonly held: boolean;
  readonly caseId: string | null;
  /** True when this payment had already been screened (a re-scan): nothing new was done. */
  readonly replayed: boolean;
}

export interface ScreeningService {
  /** Before an intent is signed: refuses on severe. Records the screening; reveals nothing else. */
  screenPayer(input: PayerScreeningInput): Promise<{ allowed: boolean }>;
  /** Inside the payment's transaction (recordPayment's screen hook): applies the policy once per payment. */
  screenPayment(tx: Tx, input: PaymentScreeningInput): Promise<PaymentScreeningOutcome>;
  /** Reloads the lists when their version counter moved (any process may have imported). */
  refresh(): Promise<boolean>;
  readonly screeners: readonly Screener[];
}

export interface ScreeningOptions {
  readonly sql: Sql;
  readonly state: StateDeps;
  readonly logger: Logger;
  readonly thresholdTiyn: bigint;
  readonly reporter: ReporterConfig;
  readonly provider?:
    | {
        url: string;
        apiKey?: string | undefined;
        timeoutMs: number;
        failPolicy: FailPolicy;
        fetchImpl?: typeof fetch;
      }
    | undefined;
  readonly oracles?: Partial<Record<NetworkId, OracleTarget>>;
  readonly oracleTimeoutMs?: number;
  readonly failPolicy?: FailPolicy;
  /** How often a screening checks the lists' version counter (default 1 s). */
  readonly listPollMs?: number;
  /** The in-memory lists to use; Workers pass one per isolate so a request does not reload them. */
  readonly listStore?: ListStore;
  /** Replace the whole screener set (tests). */
  readonly screeners?: readonly Screener[];
  readonly now?: () => Date;
}

/**
 * The in-memory lists and when their version was last checked: plain data, shared by every screening
 * service of a process, or of a Workers isolate (where services, and their database clients, are made
 * per request). Only the data is shared, never a client or a pending promise of another request.
 */
export interface ListStore {
  snapshot: (ListSnapshot & { version: bigint }) | undefined;
  checkedAt: number;
  /** How many times the lists were read in full (a reload after the version moved counts one). */
  loads: number;
}

export const createListStore = (): ListStore => ({ snapshot: undefined, checkedAt: 0, loads: 0 });

/**
 * The lists of `store`, reloaded when the shared counter moves; one reload at a time per cache. Reads
 * go through the caller's connection: inside a payment's transaction another pooled connection could
 * wait on it (the embedded database runs one transaction at a time).
 */
export function createListCache(sql: Sql, pollMs: number, store: ListStore = createListStore()) {
  let loading: Promise<boolean> | undefined;

  async function reload(q: Queryable, force: boolean): Promise<boolean> {
    const version = await listsVersion(q);
    store.checkedAt = Date.now();
    if (!force && store.snapshot && store.snapshot.version === version) return false;
    const index = await loadIndex(q);
    const names = await listNames(q);
    // A slower reload of an older version (another request's) never replaces a newer snapshot.
    if (!store.snapshot || store.snapshot.version <= version) {
      store.snapshot = { index, names, version };
      store.loads++;
    }
    return true;
  }
  function refresh(q: Queryable = sql, force = false): Promise<boolean> {
    loading ??= reload(q, force).finally(() => {
      loading = undefined;
    });
    return loading;
  }
  return {
    refresh,
    async get(q: Queryable = sql): Promise<ListSnapshot> {
      if (!store.snapshot || Date.now() - store.checkedAt >= pollMs) await refresh(q);
      return store.snapshot!;
    },
  };
}

function defaultScreeners(
  opts: ScreeningOptions,
  lists: (q: Queryable) => Promise<ListSnapshot>,
): Screener[] {
  const failPolicy = opts.failPolicy ?? opts.provider?.failPolicy ?? 'hold';
  const out: Screener[] = [
    createSanctionsScreener(lists),
    createThresholdScreener(opts.thresholdTiyn),
    createStructuringScreener({ thresholdTiyn: opts.thresholdTiyn }),
  ];
  if (opts.provider) out.push(createProviderScreener(opts.provider));
  if (opts.oracles && Object.keys(opts.oracles).length > 0) {
    out.push(
      createOracleScreener({
        oracles: opts.oracles,
        timeoutMs: opts.oracleTimeoutMs ?? opts.provider?.timeoutMs ?? 3000,
        failPolicy,
      }),
    );
  }
  return out;
}

/** Runs every screener; one that throws counts as `high` (a person looks) rather than as a pass. */
async function runAll(
  screeners: readonly Screener[],
  s: ScreenSubject,
  log: Logger,
): Promise<ScreenerResult[]> {
  return Promise.all(
    screeners.map(async (sc) => {
      try {
        return await sc.screen(s);
      } catch (err) {
        log.error('screener failed', { screener: sc.name, err });
        return {
          screener: sc.name,
          risk: 'high' as const,
          reasons: [{ code: 'screener_failed', message: `${sc.name} failed: ${(err as Error).message}` }],
        };
      }
    }),
  );
}

async function recordScreening(
  q: Queryable,
  row: {
    subject: 'payer' | 'payment';
    invoiceId: string;
    paymentId: string | null;
    merchantId: string | null;
    network: NetworkId;
    addresses: readonly string[];
    amountTiyn: bigint;
    results: readonly ScreenerResult[];
    risk: Risk;
    allowed: boolean;
    at: Date;
  },
): Promise<bigint> {
  const [r] = await q<{ id: bigint }[]>`insert into screenings (subject, invoice_id, payment_id, merchant_id,
      network, addresses, amount_tiyn, results, risk, allowed, created_at)
    values (${row.subject}, ${row.invoiceId}, ${row.paymentId}, ${row.merchantId}, ${row.network},
      ${q.array([...row.addresses])}, ${row.amountTiyn.toString()}, ${q.json(row.results as never)}, ${row.risk},
      ${row.allowed}, ${row.at}) returning id`;
  return BigInt(r!.id);
}

const assetOf = (network: NetworkId, asset: AssetId | undefined): AssetId | undefined =>
  asset ?? (NETWORKS[network].assets.length === 1 ? NETWORKS[network].nativeAsset : undefined);

export function createScreening(opts: ScreeningOptions): ScreeningService {
  const now = opts.now ?? (() => new Date());
  const lists = createListCache(opts.sql, opts.listPollMs ?? 1000, opts.listStore);
  const screeners = opts.screeners ?? defaultScreeners(opts, (q) => lists.get(q));

  return {
    screeners,
    refresh: () => lists.refresh(),

    async screenPayer(input) {
      const at = now();
      const asset = assetOf(input.network, input.asset);
      const subject: ScreenSubject = {
        kind: 'payer',
        network: input.network,
        ...(asset ? { asset } : {}),
        addresses: [input.address],
        amountTiyn: input.amountTiyn,
        invoiceId: input.invoiceId,
        at,
        q: opts.sql,
      };
      const results = await runAll(screeners, subject, opts.logger);
      const risk = maxRisk(results.map((r) => r.risk));
      const allowed = risk !== 'severe';
      await opts.sql.begin(async (tx) => {
        if (!allowed) {
          // The same payer refused again for the same invoice is recorded once: a retrying wallet (or
          // someone replaying the request) must not fill the screenings and the audit chain.
          await tx`select pg_advisory_xact_lock(hashtext(${`payer_refused ${input.invoiceId} ${input.address}`}))`;
          const [seen] = await tx`select 1 as seen from screenings
            where invoice_id = ${input.invoiceId} and subject = 'payer' and not allowed
              and addresses = ${tx.array([input.address])}::text[]
            limit 1`;
          if (seen) return;
        }
        await recordScreening(tx, {
          subject: 'payer',
          invoiceId: input.invoiceId,
          paymentId: null,
          merchantId: null,
          network: input.network,
          addresses: [input.address],
          amountTiyn: input.amountTiyn,
          results,
          risk,
          allowed,
          at,
        });
        if (!allowed) {
          await appendAudit(tx, {
            actor: 'aml',
            action: 'aml.payer_refused',
            subject: input.invoiceId,
            data: { network: input.network, address: input.address, reasons: reasonCodes(results) },
          });
        }
      });
      return { allowed };
    },

    async screenPayment(tx, input) {
      const [prior] = await tx<{ risk: Risk; id: bigint }[]>`
        select id, risk from screenings where payment_id = ${input.paymentId}`;
      if (prior) {
        const [c] = await tx<{ id: string; hold: boolean }[]>`
          select id, hold from aml_cases where payment_id = ${input.paymentId}`;
        return { risk: prior.risk, held: c?.hold ?? false, caseId: c?.id ?? null, replayed: true };
      }
      const at = now();
      const option = (
        await tx<{ option: string }[]>`select option from payments where id = ${input.paymentId}`
      )[0];
      const asset = assetOf(input.network, input.asset ?? parseOption(option?.option ?? '')?.asset);
      const subject: ScreenSubject = {
        kind: 'payment',
        network: input.network,
        ...(asset ? { asset } : {}),
        addresses: input.senders,
        amountTiyn: input.amountTiyn,
        invoiceId: input.invoiceId,
        paymentId: input.paymentId,
        at,
        q: tx,
      };
      const results = await runAll(screeners, subject, opts.logger);
      const risk = maxRisk(results.map((r) => r.risk));
      const reasons: Reason[] = results.flatMap((r) => r.reasons);
      const threshold = reasons.some((r) => r.code === 'threshold');
      const hold = risk === 'severe' || risk === 'high';
      const suspicious = hold || risk === 'medium';
      const screeningId = await recordScreening(tx, {
        subject: 'payment',
        invoiceId: input.invoiceId,
        paymentId: input.paymentId,
        merchantId: input.merchantId,
        network: input.network,
        addresses: input.senders,
        amountTiyn: input.amountTiyn,
        results,
        risk,
        allowed: !hold,
        at,
      });
      if (!suspicious && !threshold) return { risk, held: false, caseId: null, replayed: false };

      const deadlines = [
        ...(suspicious ? [suspiciousDeadline(at)] : []),
        ...(threshold ? [nextWorkingDayEnd(at)] : []),
      ];
      const dueAt = new Date(Math.min(...deadlines.map((d) => d.getTime())));
      const caseId = await openCase(tx, {
        invoiceId: input.invoiceId,
        paymentId: input.paymentId,
        merchantId: input.merchantId,
        risk,
        hold,
        // Only reasons that need a person: "provider answered nothing" notes stay in the screening.
        reasons: reasons.filter((r) => r.code !== 'provider_unavailable' || hold),
        screeningId,
        network: input.network,
        asset: asset ?? null,
        addresses: input.senders,
        amountTiyn: input.amountTiyn,
        dueAt,
        now: at,
      });
      let held = false;
      if (hold) {
        const review = { actor: 'aml', reason: 'compliance review', now: at };
        if (input.deferState) {
          held = await holdForReview(tx, input.invoiceId, review);
        } else {
          const inv = await loadInvoice(tx, input.invoiceId);
          if (inv && inv.review !== 'rejected') {
            await setReview(tx, opts.state, input.invoiceId, 'held', review);
            held = true;
          }
        }
      }
      if (threshold) await draftReport(tx, { reporter: opts.reporter }, caseId, 'threshold', 'system', at);
      return { risk, held, caseId, replayed: false };
    },
  };
}

const reasonCodes = (results: readonly ScreenerResult[]): string[] => [
  ...new Set(results.flatMap((r) => r.reasons.map((x) => x.code))),
];
