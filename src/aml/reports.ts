// Reports to the AFM: an FM-1 XML draft and the IVMS101 travel-rule data of one case, stored
// together. Drafted automatically for threshold operations (reason 1) and on a `report` decision
// (2 suspicious, 4.x list match). A merchant never learns of them (no tipping-off).
import { appendAudit } from '../audit/log';
import { ASSETS, type AssetId, NETWORKS, type NetworkId, parseOption } from '../chains/networks';
import { type Queryable, type Tx, toBigInt } from '../db/client';
import { NotFoundError } from '../lib/errors';
import { newId } from '../lib/ids';
import { formatKzt, formatUnits } from '../lib/money';
import { nextWorkingDayEnd, suspiciousDeadline } from './deadlines';
import { buildFm1Xml, type Fm1Officer, type Fm1OperationStatus, fm1Guid } from './fm1';
import { buildIvms101 } from './ivms101';
import type { Reason } from './types';

export type ReportKind = 'threshold' | 'suspicious' | 'list_match';

/** FM-1 ReasonFilingId per kind. 4.1: a match with a sanctions list (check the sub-code before filing). */
export const REASON_FILING_ID: Readonly<Record<ReportKind, string>> = {
  threshold: '1',
  suspicious: '2',
  list_match: '4.1',
};

/**
 * Suspicion indicators per screening reason. Placeholders named after the reason: the AFM's directory
 * of indicator codes is not bundled, so the officer picks the code when signing the draft.
 */
const SUSPICION: Readonly<Record<string, string>> = {
  structuring: 'STRUCTURING',
  provider_identification: 'PROVIDER_SANCTIONS',
  provider_risk: 'PROVIDER_RISK',
  sanctions_list_match_other_asset: 'LIST_MATCH_OTHER_ASSET',
  provider_unavailable: 'SCREENING_UNAVAILABLE',
};

/** The reporting entity (the gateway's operator). */
export interface ReporterConfig {
  readonly senderCode: string;
  readonly name: string;
  readonly bin?: string | undefined;
}

export interface ReportDeps {
  readonly reporter: ReporterConfig;
}

/** Who decided: the officer named in the report's PersonalData. */
export interface DecisionActor {
  readonly id: string;
  readonly name: string;
  readonly email: string;
}

export interface ReportSummary {
  readonly id: string;
  readonly caseId: string;
  readonly kind: ReportKind;
  readonly reasonCode: string;
  readonly status: 'draft' | 'filed';
  readonly createdBy: string;
  readonly dueAt: Date;
  readonly createdAt: Date;
}

export interface StoredReport extends ReportSummary {
  readonly fm1Xml: string;
  readonly ivms101: unknown;
}

// biome-ignore lint/suspicious/noExplicitAny: raw rows from postgres.js
const summaryFromRow = (r: Record<string, any>): ReportSummary => ({
  id: r.id,
  caseId: r.case_id,
  kind: r.kind,
  reasonCode: r.reason_code,
  status: r.status,
  createdBy: r.created_by,
  dueAt: new Date(r.due_at),
  createdAt: new Date(r.created_at),
});

export async function reportSummaries(q: Queryable, caseId: string): Promise<ReportSummary[]> {
  const rows = await q`select id, case_id, kind, reason_code, status, created_by, due_at, created_at
    from aml_reports where case_id = ${caseId} order by created_at, id`;
  return rows.map(summaryFromRow);
}

export async function getReport(q: Queryable, id: string): Promise<StoredReport | undefined> {
  const [r] = await q`select * from aml_reports where id = ${id}`;
  return r ? { ...summaryFromRow(r), fm1Xml: r.fm1_xml, ivms101: r.ivms101 } : undefined;
}

/** "Given Middle Surname" → the FM-1 officer fields (surname first in the format). */
export function officerFromName(name: string, email?: string): Fm1Officer {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  const surname = parts.length > 1 ? parts[parts.length - 1]! : (parts[0] ?? '');
  const givenName = parts.length > 1 ? parts[0]! : '';
  const middle = parts.slice(1, -1).join(' ');
  return {
    surname,
    givenName,
    ...(middle ? { middleName: middle } : {}),
    job: 'Compliance officer',
    ...(email ? { email } : {}),
  };
}

function suspicionCodes(reasons: readonly Reason[]): string[] {
  const codes = [...new Set(reasons.map((r) => SUSPICION[r.code]).filter((c): c is string => Boolean(c)))];
  return codes.length ? codes.slice(0, 3) : ['OTHER'];
}

/** Drafts and stores the FM-1 and IVMS101 documents of a case; returns the report id. */
export async function draftReport(
  tx: Tx,
  deps: ReportDeps,
  caseId: string,
  kind: ReportKind,
  by: DecisionActor | 'system',
  now = new Date(),
): Promise<string> {
  const [c] = await tx`select * from aml_cases where id = ${caseId}`;
  if (!c) throw new NotFoundError('case', 'case_not_found');
  const [m] = await tx`select id, name, bin from merchants where id = ${c.merchant_id}`;
  const [inv] = await tx`select id, review from invoices where id = ${c.invoice_id}`;
  const [p] = c.payment_id
    ? await tx`select p.*, o.address as to_address, o.asset, o.decimals from payments p
        left join payment_options o on o.invoice_id = p.invoice_id and o.option = p.option
        where p.id = ${c.payment_id}`
    : [];
  const reasons = (c.reasons ?? []) as Reason[];
  const amountTiyn = toBigInt(c.amount_tiyn);
  const network = c.network as NetworkId;
  const asset = (p?.asset ?? c.asset ?? parseOption(p?.option ?? '')?.asset ?? null) as AssetId | null;
  const decimals = p?.decimals ?? (asset ? ASSETS[asset]?.decimals : undefined);
  const cryptoAmount =
    p && decimals !== undefined
      ? `${formatUnits(toBigInt(p.amount_atomic), decimals)} ${asset ?? ''}`.trim()
      : null;
  const senders: string[] = p?.from_addresses?.length ? p.from_addresses : (c.addresses ?? []);
  const transactionAt = p ? new Date(p.seen_at) : new Date(c.created_at);
  const operationStatus: Fm1OperationStatus =
    inv?.review === 'rejected' ? 2 : c.hold && inv?.review === 'held' ? 3 : 1;
  const reportId = newId('rep', now.getTime());
  const officer = by === 'system' ? undefined : officerFromName(by.name, by.email);

  const more = [
    `Digital asset operation on ${NETWORKS[network]?.id ?? network}`,
    cryptoAmount ? `amount ${cryptoAmount}` : undefined,
    p ? `transaction ${p.txid}:${p.output_index}` : undefined,
    `senders ${senders.join(', ') || 'unknown'}`,
    `invoice ${c.invoice_id}`,
    `case ${c.id}`,
  ]
    .filter(Boolean)
    .join('; ');
  const fm1Xml = buildFm1Xml({
    reporter: {
      senderCode: deps.reporter.senderCode,
      name: deps.reporter.name,
      bin: deps.reporter.bin,
      officer,
    },
    documentId: fm1Guid(),
    version: fm1Guid(),
    documentType: 1,
    messageNumber: reportId,
    createdAt: now,
    transactionAt,
    operationNumber: p?.id ?? c.invoice_id,
    currencyCode: '398',
    amountCurrencyTiyn: amountTiyn,
    amountTengeTiyn: amountTiyn,
    operationStatus,
    reasonFilingId: REASON_FILING_ID[kind],
    ...(kind === 'suspicious' ? { suspicion: suspicionCodes(reasons) } : {}),
    descriptionDifficulties: reasons.map((r) => r.message).join('; '),
    moreInformation: more,
    participants: [
      {
        memberId: 1,
        view: '1',
        type: 2,
        isClientSubject: false,
        accountNumber: senders[0],
      },
      {
        memberId: 2,
        view: '2',
        type: 1,
        isClientSubject: true,
        residence: 'KZ',
        accountNumber: p?.to_address ?? undefined,
        iinBin: m?.bin ?? undefined,
        name: m?.name,
      },
    ],
  });
  const ivms101 = buildIvms101({
    originatorAddresses: senders,
    merchant: { name: m!.name, bin: m!.bin },
    merchantAccount: p?.to_address ?? undefined,
    vasp: { name: deps.reporter.name, bin: deps.reporter.bin, country: 'KZ' },
    transfer: {
      network,
      asset: asset ?? undefined,
      txid: p?.txid,
      amount: cryptoAmount ?? undefined,
      amountKzt: formatKzt(amountTiyn),
      at: transactionAt.toISOString(),
    },
  });
  const dueAt = kind === 'threshold' ? nextWorkingDayEnd(new Date(c.created_at)) : suspiciousDeadline(now);
  const createdBy = by === 'system' ? 'system' : `regulator:${by.id}`;
  await tx`insert into aml_reports (id, case_id, kind, reason_code, fm1_xml, ivms101, created_by, due_at, created_at)
    values (${reportId}, ${caseId}, ${kind}, ${REASON_FILING_ID[kind]}, ${fm1Xml}, ${tx.json(ivms101 as never)},
      ${createdBy}, ${dueAt}, ${now})`;
  await appendAudit(tx, {
    actor: createdBy,
    action: 'aml.report_drafted',
    subject: reportId,
    data: { caseId, kind, reasonCode: REASON_FILING_ID[kind], dueAt: dueAt.toISOString() },
  });
  return reportId;
}
