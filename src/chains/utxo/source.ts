// A UTXO backend (Core JSON-RPC block scanning, or Esplora address polling) in the one watcher's
// shape: matches its outputs to the issued options by script, and turns its per-transaction
// verdicts into payments gone or moved. With an Esplora poll schedule only the addresses due now
// (or one invoice's, for a checkout page) are asked about, within the service's request budget.
import type { Tx } from '../../db/client';
import type { Logger } from '../../lib/log';
import type {
  ChainBackend,
  GonePayment,
  KnownPayment,
  MovedPayment,
  ObserveInput,
  ObserveResult,
  SeenPayment,
  WatchedOption,
  WatchedSet,
} from '../../watch/observe';
import { EsploraError } from './backends/esplora';
import type { Observation, UtxoBackend, KnownPayment as UtxoKnown } from './backends/types';
import { addressToScriptHex } from './derive';
import type { AddressPollSchedule, PollClaim } from './poll-schedule';

export interface UtxoSourceOptions {
  readonly backend: UtxoBackend;
  readonly schedule?: AddressPollSchedule | undefined;
  readonly logger?: Logger | undefined;
}

interface ScriptIndex {
  readonly version: number;
  readonly byScript: Map<string, WatchedOption>;
  readonly scripts: Set<string>;
}

export function createUtxoSource(options: UtxoSourceOptions): ChainBackend & { readonly utxo: UtxoBackend } {
  const { backend, schedule } = options;
  const network = backend.network;
  let index: ScriptIndex | undefined;

  /** Script → option, rebuilt only when the watched set changed. */
  function indexOf(watched: WatchedSet): ScriptIndex {
    if (index?.version === watched.version) return index;
    const byScript = new Map<string, WatchedOption>();
    for (const list of watched.byAddress.values()) {
      for (const w of list) {
        const script = (w.details?.['scriptPubKey'] ?? addressToScriptHex(network, w.address)).toLowerCase();
        byScript.set(script, w);
      }
    }
    index = { version: watched.version, byScript, scripts: new Set(byScript.keys()) };
    return index;
  }

  function knownOf(known: readonly KnownPayment[]): Map<string, UtxoKnown> {
    const out = new Map<string, UtxoKnown>();
    for (const p of known) {
      if (out.has(p.txid)) continue;
      out.set(p.txid, {
        txid: p.txid,
        blockHash: p.blockHash,
        blockHeight: p.blockHeight,
        confirmations: p.confirmations,
        inputs: p.inputs,
      });
    }
    return out;
  }

  function translate(obs: Observation, idx: ScriptIndex, known: readonly KnownPayment[]) {
    const payments: SeenPayment[] = [];
    for (const o of obs.outputs) {
      const w = idx.byScript.get(o.scriptHex);
      if (!w) continue;
      payments.push({
        direction: 'in',
        option: w,
        txid: o.txid,
        index: o.vout,
        from: o.fromAddresses,
        asset: w.asset,
        amountAtomic: o.valueAtomic,
        confirmations: o.confirmations,
        blockHash: o.blockHash,
        blockHeight: o.blockHeight,
        rbf: o.rbf,
        extra: { inputs: o.inputs },
      });
    }
    const gone: GonePayment[] = [];
    const moved: MovedPayment[] = [];
    for (const p of known) {
      const v = obs.verdicts.get(p.txid);
      if (!v || v.kind === 'unknown') continue;
      if (v.kind === 'gone') {
        gone.push({ payment: p, reason: v.reason, ...(v.replacedBy ? { replacedBy: v.replacedBy } : {}) });
        continue;
      }
      const confirmed = v.kind === 'confirmed';
      moved.push({
        payment: p,
        confirmations: confirmed ? v.confirmations : 0,
        blockHash: confirmed ? v.blockHash : null,
        blockHeight: confirmed ? v.blockHeight : null,
      });
    }
    const report = { tipHeight: obs.tipHeight, stats: obs.stats };
    return { payments, gone, moved, report };
  }

  /** One scheduled round: only the claimed addresses, and the counted payments to them. */
  async function poll(s: AddressPollSchedule, claim: PollClaim, input: ObserveInput, idx: ScriptIndex) {
    const mine = input.known.filter((p) => p.address !== null && claim.addresses.has(p.address));
    const addresses = new Map<string, string>();
    for (const [script, w] of idx.byScript)
      if (claim.addresses.has(w.address)) addresses.set(w.address, script);
    let obs: Observation;
    try {
      obs = await backend.observe({
        cursor: undefined,
        watched: { scripts: idx.scripts, addresses },
        known: knownOf(mine),
      });
    } catch (err) {
      if (err instanceof EsploraError && err.httpStatus === 429) {
        await s.rateLimited(err.retryAfterMs, input.now);
        options.logger?.warn('esplora rate limit: polling paused', {
          network,
          retryAfterMs: err.retryAfterMs,
        });
        // Refused, not answered: first in line once allowed. Other failures wait their interval,
        // so a service answering one address badly is not asked again every tick.
        await s.release(claim.addresses, input.now);
      }
      throw err;
    }
    await s.charge((obs.stats['requests'] ?? claim.reserved) - claim.reserved, input.now);
    await s.succeeded();
    const t = translate(obs, idx, mine);
    return { cursor: undefined, ...t, report: { ...t.report, polled: claim.addresses.size } };
  }

  function targetsOf(input: ObserveInput, only?: string) {
    const targets = new Map<string, string>();
    for (const list of input.watched.byAddress.values())
      for (const w of list)
        if (only === undefined || w.invoiceId === only) targets.set(w.address, w.invoiceId);
    for (const p of input.known)
      if (p.address !== null && !targets.has(p.address)) targets.set(p.address, p.invoiceId);
    return [...targets].map(([address, invoiceId]) => ({ address, invoiceId }));
  }

  async function scheduled(s: AddressPollSchedule, input: ObserveInput): Promise<ObserveResult> {
    const idx = indexOf(input.watched);
    const empty = { cursor: undefined, payments: [], gone: [], moved: [] };
    if (input.invoiceId !== undefined) {
      const targets = targetsOf(input, input.invoiceId);
      if (targets.length === 0) return { ...empty, skipped: 'nothing due' };
      const claim = await s.claimInvoice(input.invoiceId, targets, input.now);
      if (claim.addresses.size === 0) return { ...empty, skipped: 'nothing due' };
      return poll(s, claim, input, idx);
    }
    const claim = await s.claimDue(targetsOf(input), input.now);
    if (claim.addresses.size === 0) return { ...empty, report: { polled: 0 } };
    return poll(s, claim, input, idx);
  }

  return {
    network,
    utxo: backend,
    cursorName: `utxo:${network}:${backend.kind}`,
    leaseName: `utxo:${network}`,
    scansAll: schedule === undefined,
    ...(schedule ? { checkGapMs: schedule.policy.checkGapMs } : {}),
    async observe(input) {
      if (schedule) return scheduled(schedule, input);
      const idx = indexOf(input.watched);
      const addresses = new Map<string, string>();
      for (const [script, w] of idx.byScript) addresses.set(w.address, script);
      const obs = await backend.observe({
        cursor: input.cursor,
        watched: { scripts: idx.scripts, addresses },
        known: knownOf(input.known),
        ...(input.since ? { since: input.since } : {}),
      });
      return { cursor: obs.cursor, ...translate(obs, idx, input.known) };
    },
    async onRecorded(tx: Tx, p: SeenPayment) {
      const inputs = (p.extra?.['inputs'] as readonly string[] | undefined) ?? [];
      await tx`insert into utxo_tx_inputs (network, txid, outpoints)
        values (${network}, ${p.txid}, ${tx.array([...inputs])}) on conflict do nothing`;
    },
  };
}
