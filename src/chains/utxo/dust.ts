// The dust limit: the smallest output a UTXO network's nodes relay. An invoice asking for less could
// not be paid at all (the payer's wallet refuses to build it, or the node will not relay it), so
// such an option is not offered (src/invoices/create.ts).
//
// As Bitcoin Core computes it (policy.cpp GetDustThreshold): the output's size plus the size of the
// input that will later spend it, at the dust relay fee rate. Bitcoin Core's rate is 3,000 sat/kvB,
// Litecoin Core's 30,000 litoshi/kvB (`-dustrelayfee`, default 0.0003 LTC/kB).
//
// EVM networks have no such rule: an account-model transfer of 1 wei (or one token base unit) is valid
// and its gas is paid by the sender on top of the amount, so no minimum is applied there; quotes round
// up, so an EVM amount is never 0.
import { NETWORKS, type NetworkId } from '../networks';

export type DustScriptType = 'p2pkh' | 'p2sh-p2wpkh' | 'p2wpkh' | 'p2tr';

/** Output size + the spending input's (virtual) size, in bytes. */
const SPEND_BYTES: Readonly<Record<DustScriptType, number>> = {
  p2pkh: 34 + 148, // → 546 sat on Bitcoin
  'p2sh-p2wpkh': 32 + 148, // → 540 (a P2SH output is not a witness program to the rule)
  p2wpkh: 31 + 67, // → 294
  p2tr: 43 + 67, // → 330
};

/** The dust relay fee rate per 1,000 bytes, in the network's atomic units. */
function dustRelayFeePerKvB(network: NetworkId): bigint {
  return NETWORKS[network].nativeAsset === 'LTC' ? 30_000n : 3_000n;
}

/** The smallest amount (atomic units) an output of `scriptType` may carry on `network`. */
export function dustLimit(network: NetworkId, scriptType: DustScriptType): bigint {
  return (BigInt(SPEND_BYTES[scriptType]) * dustRelayFeePerKvB(network)) / 1000n;
}
