// Compliance cases (SPEC section 7): opened by the screening policy, worked by regulators.
// open → cleared | escalated | reported | rejected; every decision has a reason and an audit entry;
// clearing a severe case needs two different regulators (four eyes). Holds change the invoice only
// through invoices/state.ts setReview, so the merchant sees `review` and nothing else.
import { appendAudit } from '../audit/log';
import { NETWORKS, type NetworkId } from '../chains/networks';
import { type Queryable, type Sql, type Tx, toBigInt } from '../db/client';
import { loadInvoice } from '../invoices/repository';
import { type StateDeps, setReview } from '../invoices/state';
import { ConflictError, NotFoundError, ValidationError } from '../lib/errors';
import { newId } from '../lib/ids';
import {
  type DecisionActor,
  draftReport,
  type ReportDeps,
  type ReportSummary,
  reportSummaries,
} from './reports';
import type { Reason, Risk, ScreenerResult } from './types';

export const CASE_STATUSES = ['open', 'cleared', 'escalated', 'reported', 'rejected'] as const;
export type CaseStatus = (typeof CASE_STATUSES)[number];
export const DECISIONS = ['clear', 'escalate', 'report', 'reject'] as const;
export type Decision = (typeof DECISIONS)[number];
export const MAX_REASON_CHARS = 2000;

export interface AmlCase {
  readonly id: string;
  readonly invoiceId: string;
  readonly paymentId: string | null;
  readonly merchantId: string;
  readonly status: CaseStatus;
  readonly risk: Risk;
  readonly hold: boolean;
  readonly reasons: readonly Reason[];
  readonly screeningId: bigint | null;
  readonly network: NetworkId;
  readonly asset: string | null;
  readonly addresses: readonly string[];
  readonly amountTiyn: bigint;
  readonly dueAt: Date;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly closedAt: Date | null;
}

export interface CaseDecisionRecord {
  readonly id: bigint;
  readonly regulatorId: string;
  readonly regulatorName: string;
  readonly decision: Decision;
  readonly reason: string;
  readonly at: Date;
}

export interface CaseDetail extends AmlCase {
  readonly merchant: { readonly id: string; readonly name: string; readonly bin: string | null };
  readonly invoice: {
    readonly id: string;
    readonly status: string;
    readonly review: string;
    readonly amountTiyn: bigint;
    readonly amountPaidTiyn: bigint;
  };
  readonly payment: {
    readonly id: string;
    readonly option: string;
    readonly txid: string;
    readonly outputIndex: number;
    readonly fromAddresses: readonly string[];
    readonly amountAtomic: bigint;
    readonly amountTiyn: bigint;
    readonly confirmations: number;
    readonly status: string;
    readonly seenAt: Date;
    /** The address the payment went to (the invoice's option). */
    readonly toAddress: string | null;
    readonly decimals: number | null;
  } | null;
  readonly screening: readonly ScreenerResult[];
  readonly decisions: readonly CaseDecisionRecord[];
  readonly reports: readonly ReportSummary[];
  /** Regulators who cleared a severe case so far (a second, different one completes it). */
  readonly clearedBy: readonly string[];
  readonly overdue: boolean;
  readonly closed: boolean;
}

// biome-ignore lint/suspicious/noExplicitAny: raw rows from postgres.js
type Row = Record<string, any>;

export function caseFromRow(r: Row): AmlCase {
  return {
    id: r.id,
    invoiceId: r.invoice_id,
    paymentId: r.payment_id,
    merchantId: r.merchant_id,
    status: r.status,
    risk: r.risk,
    hold: r.hold,
    reasons: r.reasons ?? [],
    screeningId: r.screening_id == null ? null : toBigInt(r.screening_id),
    network: r.network,
    asset: r.asset,
    addresses: r.addresses ?? [],
    amountTiyn: toBigInt(r.amount_tiyn),
    dueAt: new Date(r.due_at),
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
    closedAt: r.closed_at ? new Date(r.closed_at) : null,
  };
}

/** Closed cases take no more decisions; a reported case that holds a payment still needs clear/reject. */
export const isClosed = (c: Pick<AmlCase, 'status' | 'hold'>): boolean =>
  c.status === 'cleared' || c.status === 'rejected' || (c.status === 'reported' && !c.hold);

export const isOverdue = (c: Pick<AmlCase, 'status' | 'dueAt'>, now: Date): boolean =>
  (c.status === 'open' || c.status === 'escalated') && c.dueAt.getTime() < now.getTime();

const ALLOWED: Readonly<Record<CaseStatus, readonly Decision[]>> = {
  open: ['clear', 'escalate', 'report', 'reject'],
  escalated: ['clear', 'report', 'reject'],
  reported: ['clear', 'reject'],
  cleared: [],
  rejected: [],
};

export interface OpenCaseInput {
  readonly invoiceId: string;
  readonly paymentId: string | null;
  readonly merchantId: string;
  readonly risk: Risk;
  readonly hold: boolean;
  readonly reasons: readonly Reason[];
  readonly screeningId: bigint | null;
  readonly network: NetworkId;
  readonly asset: string | null;
  readonly addresses: readonly string[];
  readonly amountTiyn: bigint;
  readonly dueAt: Date;
  readonly now: Date;
}

export async function openCase(tx: Tx, input: OpenCaseInput): Promise<string> {
  const id = newId('case', input.now.getTime());
  await tx`insert into aml_cases (id, invoice_id, payment_id, merchant_id, risk, hold, reasons, screening_id,
      network, asset, addresses, amount_tiyn, due_at, created_at, updated_at)
    values (${id}, ${input.invoiceId}, ${input.paymentId}, ${input.merchantId}, ${input.risk}, ${input.hold},
      ${tx.json(input.reasons as never)}, ${input.screeningId === null ? null : input.screeningId.toString()},
      ${input.network}, ${input.asset}, ${tx.array([...input.addresses])}, ${input.amountTiyn.toString()},
      ${input.dueAt}, ${input.now}, ${input.now})`;
  await appendAudit(tx, {
    actor: 'aml',
    action: 'aml.case_opened',
    subject: id,
    data: {
      invoiceId: input.invoiceId,
      paymentId: input.paymentId,
      risk: input.risk,
      hold: input.hold,
      reasons: input.reasons.map((r) => r.code),
    },
  });
  return id;
}

export async function getCase(q: Queryable, id: string, now = new Date()): Promise<CaseDetail | undefined> {
  const [row] = await q`select * from aml_cases where id = ${id}`;
  if (!row) return undefined;
  const c = caseFromRow(row);
  const [merchant] = await q`select id, name, bin from merchants where id = ${c.merchantId}`;
  const [inv] = await q`select id, status, review, amount_tiyn, amount_paid_tiyn from invoices
    where id = ${c.invoiceId}`;
  const [pay] = c.paymentId
    ? await q`select p.*, o.address as to_address, o.decimals from payments p
        left join payment_options o on o.invoice_id = p.invoice_id and o.option = p.option
        where p.id = ${c.paymentId}`
    : [];
  const [screening] = c.screeningId
    ? await q`select results from screenings where id = ${c.screeningId.toString()}`
    : [];
  const decisions = await q`select d.*, r.name as regulator_name from case_decisions d
    join regulators r on r.id = d.regulator_id where d.case_id = ${id} order by d.id`;
  const reports = await reportSummaries(q, id);
  const decisionRecords: CaseDecisionRecord[] = decisions.map((d) => ({
    id: toBigInt(d.id),
    regulatorId: d.regulator_id,
    regulatorName: d.regulator_name,
    decision: d.decision,
    reason: d.reason,
    at: new Date(d.at),
  }));
  return {
    ...c,
    merchant: { id: merchant!.id, name: merchant!.name, bin: merchant!.bin },
    invoice: {
      id: inv!.id,
      status: inv!.status,
      review: inv!.review,
      amountTiyn: toBigInt(inv!.amount_tiyn),
      amountPaidTiyn: toBigInt(inv!.amount_paid_tiyn),
    },
    payment: pay
      ? {
          id: pay.id,
          option: pay.option,
          txid: pay.txid,
          outputIndex: pay.output_index,
          fromAddresses: pay.from_addresses ?? [],
          amountAtomic: toBigInt(pay.amount_atomic),
          amountTiyn: toBigInt(pay.amount_tiyn),
          confirmations: pay.confirmations,
          status: pay.status,
          seenAt: new Date(pay.seen_at),
          toAddress: pay.to_address ?? null,
          decimals: pay.decimals ?? null,
        }
      : null,
    screening: (screening?.results as ScreenerResult[] | undefined) ?? [],
    decisions: decisionRecords,
    reports,
    clearedBy: clearances(decisionRecords),
    overdue: isOverdue(c, now),
    closed: isClosed(c),
  };
}

function clearances(decisions: readonly { decision: Decision; regulatorId: string }[]): string[] {
  return [...new Set(decisions.filter((d) => d.decision === 'clear').map((d) => d.regulatorId))];
}

export interface CaseFilter {
  readonly status?: CaseStatus | undefined;
  readonly risk?: Risk | undefined;
  readonly network?: NetworkId | undefined;
  readonly merchantId?: string | undefined;
  readonly overdue?: boolean | undefined;
  readonly minAmountTiyn?: bigint | undefined;
  readonly maxAmountTiyn?: bigint | undefined;
  readonly dueBefore?: Date | undefined;
  readonly limit?: number | undefined;
  /** `after` of a previous page. */
  readonly cursor?: { dueAt: Date; id: string } | undefined;
}

export interface CaseListItem extends AmlCase {
  readonly merchantName: string;
  readonly overdue: boolean;
}

/** The queue, earliest deadline first (keyset pages on due date, then id). */
export async function listCases(
  q: Queryable,
  filter: CaseFilter,
  now = new Date(),
): Promise<{ data: CaseListItem[]; next: { dueAt: Date; id: string } | null }> {
  const limit = Math.min(Math.max(filter.limit ?? 50, 1), 200);
  const where = [q`true`];
  if (filter.status) where.push(q`c.status = ${filter.status}`);
  if (filter.risk) where.push(q`c.risk = ${filter.risk}`);
  if (filter.network) where.push(q`c.network = ${filter.network}`);
  if (filter.merchantId) where.push(q`c.merchant_id = ${filter.merchantId}`);
  if (filter.minAmountTiyn !== undefined) where.push(q`c.amount_tiyn >= ${filter.minAmountTiyn.toString()}`);
  if (filter.maxAmountTiyn !== undefined) where.push(q`c.amount_tiyn <= ${filter.maxAmountTiyn.toString()}`);
  if (filter.dueBefore) where.push(q`c.due_at <= ${filter.dueBefore}`);
  if (filter.overdue === true) where.push(q`c.status in ('open', 'escalated') and c.due_at < ${now}`);
  if (filter.overdue === false) where.push(q`not (c.status in ('open', 'escalated') and c.due_at < ${now})`);
  if (filter.cursor) where.push(q`(c.due_at, c.id) > (${filter.cursor.dueAt}, ${filter.cursor.id})`);
  const clause = where.reduce((acc, w) => q`${acc} and ${w}`);
  const rows = await q`select c.*, m.name as merchant_name from aml_cases c
    join merchants m on m.id = c.merchant_id where ${clause}
    order by c.due_at, c.id limit ${limit + 1}`;
  const page = rows.slice(0, limit).map((r) => {
    const c = caseFromRow(r);
    return { ...c, merchantName: r.merchant_name as string, overdue: isOverdue(c, now) };
  });
  const last = page[page.length - 1];
  return { data: page, next: rows.length > limit && last ? { dueAt: last.dueAt, id: last.id } : null };
}

export interface DecideInput {
  readonly caseId: string;
  readonly decision: Decision;
  readonly reason: string;
  readonly regulator: DecisionActor;
  readonly now?: Date;
}

export interface DecideResult {
  readonly case: CaseDetail;
  /** A severe case cleared once: it waits for a second, different regulator. */
  readonly awaitingSecondClearance: boolean;
  readonly reportId?: string;
}

export interface CaseDeps extends ReportDeps {
  readonly state: StateDeps;
}

export async function decide(sql: Sql, deps: CaseDeps, input: DecideInput): Promise<DecideResult> {
  const reason = input.reason.trim();
  if (!reason)
    throw new ValidationError('a decision needs a reason', [{ path: 'reason', message: 'required' }]);
  if ([...reason].length > MAX_REASON_CHARS) {
    throw new ValidationError('the reason is too long', [
      { path: 'reason', message: `at most ${MAX_REASON_CHARS} characters` },
    ]);
  }
  const now = input.now ?? new Date();
  const actor = `regulator:${input.regulator.id}`;
  const out = await sql.begin(async (tx) => {
    const [row] = await tx`select * from aml_cases where id = ${input.caseId} for update`;
    if (!row) throw new NotFoundError('case', 'case_not_found');
    const c = caseFromRow(row);
    if (isClosed(c)) throw new ConflictError('case_closed', `the case is already ${c.status}`);
    if (!ALLOWED[c.status].includes(input.decision)) {
      throw new ConflictError(
        'decision_not_allowed',
        `a ${c.status} case cannot be given "${input.decision}"`,
      );
    }
    let status: CaseStatus = c.status;
    let awaitingSecondClearance = false;
    let reportId: string | undefined;
    let closed = false;

    if (input.decision === 'clear' && c.risk === 'severe') {
      const prior = await tx<{ regulator_id: string }[]>`select distinct regulator_id from case_decisions
        where case_id = ${c.id} and decision = 'clear'`;
      if (prior.some((p) => p.regulator_id === input.regulator.id)) {
        throw new ConflictError(
          'four_eyes_required',
          'you have already cleared this severe case; a second, different regulator must clear it too',
        );
      }
      awaitingSecondClearance = prior.length === 0;
    }

    await tx`insert into case_decisions (case_id, regulator_id, decision, reason, at)
      values (${c.id}, ${input.regulator.id}, ${input.decision}, ${reason}, ${now})`;

    switch (input.decision) {
      case 'clear':
        if (!awaitingSecondClearance) {
          status = 'cleared';
          closed = true;
        }
        break;
      case 'escalate':
        status = 'escalated';
        break;
      case 'reject':
        status = 'rejected';
        closed = true;
        break;
      case 'report': {
        status = 'reported';
        const kind = c.reasons.some(
          (r) => r.code === 'sanctions_list_match' || r.code === 'oracle_sanctioned',
        )
          ? 'list_match'
          : c.reasons.every((r) => r.code === 'threshold')
            ? 'threshold'
            : 'suspicious';
        reportId = await draftReport(tx, deps, c.id, kind, input.regulator, now);
        break;
      }
    }
    await tx`update aml_cases set status = ${status}, updated_at = ${now},
      closed_at = ${closed ? now : null} where id = ${c.id}`;
    await appendAudit(tx, {
      actor,
      action: `aml.case_${input.decision}`,
      subject: c.id,
      data: {
        invoiceId: c.invoiceId,
        from: c.status,
        to: status,
        reason,
        ...(awaitingSecondClearance ? { awaitingSecondClearance: true } : {}),
        ...(reportId ? { reportId } : {}),
      },
    });

    const inv = await loadInvoice(tx, c.invoiceId, { forUpdate: true });
    if (input.decision === 'reject' && inv && inv.review !== 'rejected') {
      await setReview(tx, deps.state, c.invoiceId, 'rejected', { actor, reason: 'compliance review', now });
    }
    if (status === 'cleared' && c.hold && inv?.review === 'held') {
      const [other] = await tx`select id from aml_cases where invoice_id = ${c.invoiceId} and id <> ${c.id}
        and hold and status in ('open', 'escalated', 'reported') limit 1`;
      if (!other) {
        await setReview(tx, deps.state, c.invoiceId, 'released', { actor, reason: 'compliance review', now });
      }
    }
    return { awaitingSecondClearance, ...(reportId ? { reportId } : {}) };
  });
  const detail = await getCase(sql, input.caseId, now);
  return { case: detail!, ...out };
}

/** Explorer links for people, when the network has a public explorer. */
export function explorerLink(network: NetworkId, kind: 'tx' | 'address', id: string): string | undefined {
  const e = NETWORKS[network]?.explorer;
  return e ? e[kind].replace('{id}', encodeURIComponent(id)) : undefined;
}
