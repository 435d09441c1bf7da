// The server side of SCRAM-SHA-256 (RFC 5802 / RFC 7677, as PostgreSQL speaks it), for the embedded
// database's socket server (pg-socket.ts). SCRAM rather than a cleartext password: the secret never
// crosses the socket, so a process that answers on a stale port cannot learn it, and a recorded
// exchange cannot be replayed (each one mixes in a fresh server nonce).
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

export const SCRAM_MECHANISM = 'SCRAM-SHA-256';
/** RFC 7677's minimum; the secret is 32 random bytes, so the iterations are not what protects it. */
const ITERATIONS = 4096;
/** Longest client nonce accepted (postgres.js and libpq send 24 base64 characters). */
const MAX_NONCE_CHARS = 256;

const hmac = (key: Buffer, text: string) => createHmac('sha256', key).update(text).digest();
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest();

/** What the server keeps of a password: never the password itself. */
export interface ScramVerifier {
  readonly salt: Buffer;
  readonly iterations: number;
  readonly storedKey: Buffer;
  readonly serverKey: Buffer;
}

export function scramVerifier(password: string): ScramVerifier {
  const salt = randomBytes(16);
  const salted = pbkdf2Sync(password.normalize('NFKC'), salt, ITERATIONS, 32, 'sha256');
  return {
    salt,
    iterations: ITERATIONS,
    storedKey: sha256(hmac(salted, 'Client Key')),
    serverKey: hmac(salted, 'Server Key'),
  };
}

/** One exchange: `first` answers the client-first message, `final` checks the proof. */
export class ScramExchange {
  private clientFirstBare = '';
  private serverFirst = '';
  private gs2Header = '';
  private nonce = '';

  constructor(private readonly verifier: ScramVerifier) {}

  /** The server-first message, or undefined when the client-first message is malformed. */
  first(clientFirst: string): string | undefined {
    // gs2 header: no channel binding ("n,,"), or "y,," (the client could but believes we cannot).
    const m = /^([ny]),(?:a=[^,]*)?,(n=[^,]*,r=([\x21-\x2b\x2d-\x7e]+)(?:,.*)?)$/.exec(clientFirst);
    if (!m || m[3]!.length > MAX_NONCE_CHARS) return undefined;
    this.gs2Header = clientFirst.slice(0, clientFirst.length - m[2]!.length);
    this.clientFirstBare = m[2]!;
    this.nonce = m[3]! + randomBytes(18).toString('base64');
    const v = this.verifier;
    this.serverFirst = `r=${this.nonce},s=${v.salt.toString('base64')},i=${v.iterations}`;
    return this.serverFirst;
  }

  /** The server-final message when the proof is right; undefined otherwise. */
  final(clientFinal: string): string | undefined {
    if (!this.nonce) return undefined;
    const at = clientFinal.lastIndexOf(',p=');
    if (at < 0) return undefined;
    const withoutProof = clientFinal.slice(0, at);
    const proof = Buffer.from(clientFinal.slice(at + 3), 'base64');
    const attrs = new Map(withoutProof.split(',').map((kv) => [kv.slice(0, 2), kv.slice(2)] as const));
    const binding = Buffer.from(this.gs2Header).toString('base64');
    // Every comparison runs whatever the others gave, so the time taken says nothing about which failed.
    const auth = `${this.clientFirstBare},${this.serverFirst},${withoutProof}`;
    const signature = hmac(this.verifier.storedKey, auth);
    const clientKey = Buffer.alloc(32);
    for (let i = 0; i < 32; i++) clientKey[i] = (proof[i] ?? 0) ^ signature[i]!;
    const proofOk = timingSafeEqual(sha256(clientKey), this.verifier.storedKey) && proof.length === 32;
    const ok = proofOk && attrs.get('c=') === binding && attrs.get('r=') === this.nonce;
    this.nonce = '';
    if (!ok) return undefined;
    return `v=${hmac(this.verifier.serverKey, auth).toString('base64')}`;
  }
}
