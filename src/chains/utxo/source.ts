// A UTXO backend (Core JSON-RPC block scanning, or Esplora address polling) in the one watcher's
// shape: matches its outputs to the issued options by script, and turns its per-transaction
// verdicts into payments gone or moved. Every address ever issued is watched and none is held in
// memory: a node's blocks and mempool are looked up by script, one indexed query per block or batch.
// With an Esplora poll schedule only the addresses due now (or one invoice's, for a checkout page)
// are asked about, within the service's request budget; the schedule's rows live in the database.
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
  WatchedLookup,
  WatchedOption,
} from '../../watch/observe';
import { EsploraError } from './backends/esplora';
import type { Observation, UtxoBackend, KnownPayment as UtxoKnown, WatchedScripts } from './backends/types';
import { addressToScriptHex } from './derive';
import type { AddressPollSchedule, PollClaim } from './poll-schedule';

export interface UtxoSourceOptions {
  readonly backend: UtxoBackend;
  readonly schedule?: AddressPollSchedule | undefined;
  readonly logger?: Logger | undefined;
}

/** Script → option, for the outputs of one observation. */
type ScriptIndex = Map<string, WatchedOption>;

export function createUtxoSource(options: UtxoSourceOptions): ChainBackend & { readonly utxo: UtxoBackend } {
  const { backend, schedule } = options;
  const network = backend.network;

  const scriptOf = (w: WatchedOption) =>
    (w.details?.['scriptPubKey'] ?? addressToScriptHex(network, w.address)).toLowerCase();

  function indexOf(list: Iterable<WatchedOption>, into: ScriptIndex = new Map()): ScriptIndex {
    for (const w of list) into.set(scriptOf(w), w);
    return into;
  }

  /** The scripts to give a backend for `index` (address → script for those that ask by address). */
  function scriptsOf(idx: ScriptIndex): WatchedScripts {
    const addresses = new Map<string, string>();
    for (const [script, w] of idx) addresses.set(w.address, script);
    return { scripts: new Set(idx.keys()), addresses };
  }

  /** The options of outputs a look-up of this observation did not name (a mempool match kept from before). */
  async function resolve(obs: Observation, idx: ScriptIndex, watched: WatchedLookup): Promise<void> {
    const missing = obs.outputs.map((o) => o.scriptHex).filter((x) => !idx.has(x));
    if (missing.length === 0) return;
    for (const [script, list] of await watched.find('scriptPubKey', missing)) idx.set(script, list[0]!);
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
      const w = idx.get(o.scriptHex);
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
  async function poll(s: AddressPollSchedule, claim: PollClaim, input: ObserveInput) {
    const mine = input.known.filter((p) => p.address !== null && claim.addresses.has(p.address));
    const idx = indexOf([...(await input.watched.find('address', claim.addresses)).values()].flat());
    let obs: Observation;
    try {
      obs = await backend.observe({ cursor: undefined, watched: scriptsOf(idx), known: knownOf(mine) });
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

  const targetsOf = (list: readonly WatchedOption[]) =>
    list.map((w) => ({ address: w.address, invoiceId: w.invoiceId }));

  async function scheduled(s: AddressPollSchedule, input: ObserveInput): Promise<ObserveResult> {
    const empty = { cursor: undefined, payments: [], gone: [], moved: [] };
    if (input.invoiceId !== undefined) {
      const targets = targetsOf(await input.watched.ofInvoice(input.invoiceId));
      for (const p of input.known)
        if (p.address !== null && !targets.some((t) => t.address === p.address))
          targets.push({ address: p.address, invoiceId: p.invoiceId });
      if (targets.length === 0) return { ...empty, skipped: 'nothing due' };
      const claim = await s.claimInvoice(input.invoiceId, targets, input.now);
      if (claim.addresses.size === 0) return { ...empty, skipped: 'nothing due' };
      return poll(s, claim, input);
    }
    // The rows already hold every address issued before; the new ones get theirs (due at once).
    if (input.watched.reconcile) await s.syncIssued(input.now);
    const claim = await s.claimDue(targetsOf(input.watched.issued), input.now);
    if (claim.addresses.size === 0) return { ...empty, report: { polled: 0 } };
    return poll(s, claim, input);
  }

  /** Block scanning: each block's (and the mempool's) scripts are looked up as the backend meets them. */
  async function scan(input: ObserveInput): Promise<ObserveResult> {
    const idx = indexOf(input.watched.issued);
    let watched: WatchedScripts;
    if (backend.kind === 'esplora') {
      // Without a schedule every address is asked about every tick: a node of one's own or the sandbox.
      watched = scriptsOf(indexOf(await input.watched.all(), idx));
    } else {
      const lookup = async (scripts: readonly string[]) => {
        const found = await input.watched.find('scriptPubKey', scripts);
        for (const [script, list] of found) idx.set(script, list[0]!);
        return new Set(found.keys());
      };
      watched = { scripts: new Set(idx.keys()), addresses: new Map(), lookup };
    }
    const obs = await backend.observe({
      cursor: input.cursor,
      watched,
      known: knownOf(input.known),
      ...(input.since ? { since: input.since } : {}),
    });
    await resolve(obs, idx, input.watched);
    return { cursor: obs.cursor, ...translate(obs, idx, input.known) };
  }

  return {
    network,
    utxo: backend,
    cursorName: `utxo:${network}:${backend.kind}`,
    leaseName: `utxo:${network}`,
    scansAll: schedule === undefined,
    ...(schedule ? { checkGapMs: schedule.policy.checkGapMs } : {}),
    observe: (input) => (schedule ? scheduled(schedule, input) : scan(input)),
    async onRecorded(tx: Tx, p: SeenPayment) {
      const inputs = (p.extra?.['inputs'] as readonly string[] | undefined) ?? [];
      await tx`insert into utxo_tx_inputs (network, txid, outpoints)
        values (${network}, ${p.txid}, ${tx.array([...inputs])}) on conflict do nothing`;
    },
  };
}
