// Runs inside the derivation thread (see derive-pool.ts): derives what the main thread asks for.
import { parentPort } from 'node:worker_threads';
import { type AddressJob, deriveAddresses, warmDerivation } from './derive';

export interface DeriveRequest {
  readonly id: number;
  readonly jobs: readonly AddressJob[];
}

export type DeriveReply =
  | { readonly id: number; readonly addresses: readonly string[]; readonly scripts: readonly string[] }
  | { readonly id: number; readonly error: string };

const port = parentPort;
if (!port) throw new Error('derive-thread-body.ts runs only as a worker thread');

warmDerivation();

port.on('message', ({ id, jobs }: DeriveRequest) => {
  let reply: DeriveReply;
  try {
    const derived = deriveAddresses(jobs);
    reply = {
      id,
      addresses: derived.map((d) => d.address),
      scripts: derived.map((d) => d.scriptPubKeyHex),
    };
  } catch (err) {
    reply = { id, error: err instanceof Error ? err.message : String(err) };
  }
  port.postMessage(reply);
});
