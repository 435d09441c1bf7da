// A merchant as one json value: a SQL fragment and its reader, shared by getMerchant and by
// authentication, which loads the key's merchant in its own statement.
import type { Queryable } from '../db/client';
import type { Merchant } from './repository';

/** The merchant row `m` as json, with its keys under `keys`. */
export function merchantJson(q: Queryable) {
  return q`to_jsonb(m) || jsonb_build_object('keys', coalesce((select jsonb_agg(jsonb_build_object(
      'network', mk.network, 'keyText', mk.key_text, 'scriptType', mk.script_type, 'firstAddress', mk.first_address)
      order by mk.network) from merchant_keys mk where mk.merchant_id = m.id), '[]'::jsonb))`;
}

/** The merchant from merchantJson's object (columns by their SQL names). */
// biome-ignore lint/suspicious/noExplicitAny: a row as postgres.js parsed it from json
export function merchantFromJson(r: any): Merchant {
  return {
    id: r.id,
    name: r.name,
    bin: r.bin,
    mode: r.mode,
    speedPolicy: r.speed_policy,
    paymentToleranceBp: r.payment_tolerance_bp,
    invoiceExpiryMinutes: r.invoice_expiry_minutes,
    monitoringWindowMinutes: r.monitoring_window_minutes,
    enabledOptions: r.enabled_options,
    evmPayoutAddress: r.evm_payout_address,
    keys: r.keys,
    createdAt: new Date(r.created_at),
  };
}
