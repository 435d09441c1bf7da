// The regulator API's shapes, shared by the JSON API and the console.

import type { CaseDetail, CaseListItem } from '../aml/cases';
import { explorerLink } from '../aml/cases';
import type { ReportSummary } from '../aml/reports';
import { ASSETS, parseOption } from '../chains/networks';
import { formatKzt, formatUnits } from '../lib/money';

export function caseSummaryToJson(c: CaseListItem | CaseDetail) {
  return {
    id: c.id,
    status: c.status,
    risk: c.risk,
    hold: c.hold,
    reasons: c.reasons,
    network: c.network,
    asset: c.asset,
    addresses: c.addresses,
    amountKzt: formatKzt(c.amountTiyn),
    invoiceId: c.invoiceId,
    paymentId: c.paymentId,
    merchant: { id: c.merchantId, name: 'merchantName' in c ? c.merchantName : c.merchant.name },
    dueAt: c.dueAt.toISOString(),
    overdue: c.overdue,
    createdAt: c.createdAt.toISOString(),
    updatedAt: c.updatedAt.toISOString(),
    closedAt: c.closedAt?.toISOString() ?? null,
  };
}

export function reportSummaryToJson(r: ReportSummary) {
  return {
    id: r.id,
    caseId: r.caseId,
    kind: r.kind,
    reasonCode: r.reasonCode,
    status: r.status,
    createdBy: r.createdBy,
    dueAt: r.dueAt.toISOString(),
    createdAt: r.createdAt.toISOString(),
    links: {
      fm1: `/v1/regulator/reports/${r.id}/fm1.xml`,
      ivms101: `/v1/regulator/reports/${r.id}/ivms101.json`,
    },
  };
}

export function caseDetailToJson(c: CaseDetail) {
  const p = c.payment;
  const asset = p ? parseOption(p.option)?.asset : undefined;
  const decimals = p?.decimals ?? (asset ? ASSETS[asset].decimals : undefined);
  return {
    ...caseSummaryToJson(c),
    merchant: { id: c.merchant.id, name: c.merchant.name, bin: c.merchant.bin },
    invoice: {
      id: c.invoice.id,
      status: c.invoice.status,
      review: c.invoice.review,
      amount: formatKzt(c.invoice.amountTiyn),
      amountPaid: formatKzt(c.invoice.amountPaidTiyn),
    },
    payment: p
      ? {
          id: p.id,
          option: p.option,
          txid: p.txid,
          index: p.outputIndex,
          from: p.fromAddresses,
          to: p.toAddress,
          amount: decimals === undefined ? null : formatUnits(p.amountAtomic, decimals),
          amountAtomic: p.amountAtomic.toString(),
          amountKzt: formatKzt(p.amountTiyn),
          confirmations: p.confirmations,
          status: p.status,
          seenAt: p.seenAt.toISOString(),
          links: {
            tx: explorerLink(c.network, 'tx', p.txid) ?? null,
            from: p.fromAddresses.map((a) => ({
              address: a,
              url: explorerLink(c.network, 'address', a) ?? null,
            })),
          },
        }
      : null,
    screening: c.screening,
    decisions: c.decisions.map((d) => ({
      regulator: { id: d.regulatorId, name: d.regulatorName },
      decision: d.decision,
      reason: d.reason,
      at: d.at.toISOString(),
    })),
    reports: c.reports.map(reportSummaryToJson),
    clearedBy: c.clearedBy,
    awaitingSecondClearance: c.risk === 'severe' && !c.closed && c.clearedBy.length === 1,
    closed: c.closed,
  };
}
