// The regulator API's shared schemas (cases and reports as the API shows them) and route facts.
import { z } from '@hono/zod-openapi';
import { CASE_STATUSES, DECISIONS } from '../../aml/cases';
import { RISKS } from '../../aml/types';

export const security = [{ regulator: [] }];
export const tags = ['Regulator'];

export const ReasonSchema = z.object({ code: z.string(), message: z.string() });
export const CaseSummarySchema = z
  .object({
    id: z.string().openapi({ example: 'case_01jd8x3q4m5n6p7r8s9t0v1w2x' }),
    status: z.enum(CASE_STATUSES),
    risk: z.enum(RISKS),
    hold: z.boolean(),
    reasons: z.array(ReasonSchema),
    network: z.string(),
    asset: z.string().nullable(),
    addresses: z.array(z.string()),
    amountKzt: z.string().openapi({ example: '6000000.00' }),
    invoiceId: z.string(),
    paymentId: z.string().nullable(),
    merchant: z.object({ id: z.string(), name: z.string() }),
    dueAt: z.string(),
    overdue: z.boolean(),
    createdAt: z.string(),
    updatedAt: z.string(),
    closedAt: z.string().nullable(),
  })
  .openapi('AmlCaseSummary');
export const ReportSummarySchema = z
  .object({
    id: z.string(),
    caseId: z.string(),
    kind: z.enum(['threshold', 'suspicious', 'list_match']),
    reasonCode: z.string(),
    status: z.enum(['draft', 'filed']),
    createdBy: z.string(),
    dueAt: z.string(),
    createdAt: z.string(),
    links: z.object({ fm1: z.string(), ivms101: z.string() }),
  })
  .openapi('AmlReport');
export const CaseDetailSchema = CaseSummarySchema.extend({
  merchant: z.object({ id: z.string(), name: z.string(), bin: z.string().nullable() }),
  invoice: z.object({
    id: z.string(),
    status: z.string(),
    review: z.string(),
    amount: z.string(),
    amountPaid: z.string(),
  }),
  payment: z
    .object({
      id: z.string(),
      option: z.string(),
      txid: z.string(),
      index: z.number(),
      from: z.array(z.string()),
      to: z.string().nullable(),
      amount: z.string().nullable(),
      amountAtomic: z.string(),
      amountKzt: z.string(),
      confirmations: z.number(),
      status: z.string(),
      seenAt: z.string(),
      links: z.object({
        tx: z.string().nullable(),
        from: z.array(z.object({ address: z.string(), url: z.string().nullable() })),
      }),
    })
    .nullable(),
  screening: z.array(z.object({ screener: z.string(), risk: z.enum(RISKS), reasons: z.array(ReasonSchema) })),
  decisions: z.array(
    z.object({
      regulator: z.object({ id: z.string(), name: z.string() }),
      decision: z.enum(DECISIONS),
      reason: z.string(),
      at: z.string(),
    }),
  ),
  reports: z.array(ReportSummarySchema),
  clearedBy: z.array(z.string()),
  awaitingSecondClearance: z.boolean(),
  closed: z.boolean(),
}).openapi('AmlCase');

export const IdParam = (example: string) =>
  z.object({
    id: z
      .string()
      .max(64)
      .openapi({ param: { name: 'id', in: 'path' }, example }),
  });
