// Whether a hex string can serve as an Ed25519 verification key. A small-order point (the identity
// 01 00…00 among them) is refused: under the default cofactored (ZIP 215) check it accepts a made-up
// signature (R the identity, S zero) on any message, so listing one would let anyone sign checkpoints.
import { ed25519 } from '@noble/curves/ed25519.js';
import { hexToBytes } from '@noble/hashes/utils.js';

const HEX64 = /^(0x)?[0-9a-fA-F]{64}$/;

/** Why `hex` is not a usable Ed25519 public key, or undefined when it is. */
export function ed25519PublicKeyProblem(hex: string): string | undefined {
  const h = hex.trim();
  if (!HEX64.test(h)) return 'expected 64 hex digits (32 bytes)';
  try {
    const point = ed25519.Point.fromBytes(hexToBytes(h.replace(/^0x/, '')));
    if (point.isSmallOrder()) return 'a small-order point, which any signature matches';
  } catch {
    return 'not a point of the curve';
  }
  return undefined;
}
