// One account's receive branch: parsed once, then one HMAC and one fixed-base addition per address.

import { hex } from '@scure/base';
import { utxoParams } from '../params';
import { hash160, witnessAddress } from './address';
import {
  type Affine,
  branchChildren,
  type ChildPoint,
  compress,
  invertAll,
  taprootOutputKey,
  toAffine,
} from './curve';
import { HARDENED, parseInternal } from './descriptor';
import type { AccountKey, DerivedAddress, Deriver } from './types';

export function assertIndex(index: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= HARDENED) {
    throw new RangeError(`address index must be an integer in 0..2^31-1, got ${index}`);
  }
}

/** A deriver for one account: parses once, derives the receive branch once. */
export function createDeriver(key: AccountKey): Deriver {
  return makeDeriver(key);
}

/** What deriveWith needs of a deriver beyond the public interface: the point, then the address. */
export interface InternalDeriver extends Deriver {
  child(index: number): ChildPoint;
  finish(p: Affine): DerivedAddress;
}

export function makeDeriver(key: AccountKey): InternalDeriver {
  const parsed = parseInternal(key.network, key.text, 'xpub');
  const params = utxoParams(key.network)!;
  let branchNode = parsed.node;
  for (const step of parsed.branch) branchNode = branchNode.deriveChild(step);
  const child = branchChildren(branchNode);
  const hrp = params.hrp;
  const finish =
    parsed.key.scriptType === 'p2wpkh'
      ? (p: Affine): DerivedAddress => {
          const h = hash160(compress(p));
          return { address: witnessAddress(hrp, 0, h), scriptPubKeyHex: `0014${hex.encode(h)}` };
        }
      : (p: Affine): DerivedAddress => {
          const q = taprootOutputKey(p);
          return { address: witnessAddress(hrp, 1, q), scriptPubKeyHex: `5120${hex.encode(q)}` };
        };
  const deriver: InternalDeriver = {
    key: parsed.key,
    deriveAddress: (index) => deriveWith([{ deriver, index }])[0]!,
    firstAddress: () => deriver.deriveAddress(0).address,
    child: (index) => {
      assertIndex(index);
      return child(index);
    },
    finish,
  };
  return deriver;
}

/** Derives every job, all the Jacobian results sharing one inversion. */
export function deriveWith(jobs: readonly { deriver: InternalDeriver; index: number }[]): DerivedAddress[] {
  const points = jobs.map(({ deriver, index }) => deriver.child(index));
  const pending = points.flatMap((p) => ('jacobian' in p && p.jacobian.Z !== 1n ? [p.jacobian.Z] : []));
  const inverses = invertAll(pending);
  let next = 0;
  return points.map((p, i) => {
    const affine =
      'affine' in p ? p.affine : toAffine(p.jacobian, p.jacobian.Z === 1n ? 1n : inverses[next++]!);
    return jobs[i]!.deriver.finish(affine);
  });
}
