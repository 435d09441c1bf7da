// Node only. Who runs the sandbox chains recorded in DATA_DIR/sandbox.json (`owner`: the process of
// `npm run sandbox` or `npm start` that started them). Endpoints whose owner has exited are stale:
// the gateway does not use them, and the next start replaces them.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config';
import { readSandboxFile, SANDBOX_FILE, withSandboxEvm } from './evm/sandbox-file';
import { withSandboxUtxo } from './utxo/backends/sandbox-file';

export interface SandboxOwner {
  readonly pid: number;
  /** `npm start` or `npm run sandbox`. */
  readonly by: string;
  readonly startedAt: string;
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function readSandboxOwner(dataDir: string): (SandboxOwner & { alive: boolean }) | undefined {
  const o = readSandboxFile(dataDir)['owner'] as
    | (Partial<SandboxOwner> & { stoppedAt?: unknown })
    | undefined;
  if (!o || typeof o.pid !== 'number' || !Number.isSafeInteger(o.pid) || o.pid <= 0) return undefined;
  return {
    pid: o.pid,
    by: typeof o.by === 'string' ? o.by : 'unknown',
    startedAt: typeof o.startedAt === 'string' ? o.startedAt : '',
    alive: o.stoppedAt === undefined && processAlive(o.pid),
  };
}

/** True when sandbox.json's chains may be used: their owner is alive, or the file names none (older files). */
export function sandboxEndpointsLive(dataDir: string): boolean {
  const o = readSandboxOwner(dataDir);
  return o === undefined || o.alive;
}

function update(dataDir: string, change: (all: Record<string, unknown>) => Record<string, unknown>): void {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, SANDBOX_FILE);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(change(readSandboxFile(dataDir)), null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, file);
}

export function writeSandboxOwner(dataDir: string, owner: SandboxOwner): void {
  update(dataDir, (all) => ({ ...all, owner }));
}

/** Marks the chains stopped (their records stay: the next start reuses the deployment). */
export function clearSandboxOwner(dataDir: string, pid: number): void {
  const o = readSandboxOwner(dataDir);
  if (o?.pid !== pid) return;
  const { alive: _, ...owner } = o;
  update(dataDir, (all) => ({ ...all, owner: { ...owner, stoppedAt: new Date().toISOString() } }));
}

/**
 * The configuration with the sandbox chains of DATA_DIR/sandbox.json filled in where the environment
 * leaves them unset (only while their owner runs), and the sandbox signer key.
 */
export function withSandboxChains(config: Config): Config {
  if (config.NETWORK_MODE !== 'sandbox') return config;
  const live = sandboxEndpointsLive(config.DATA_DIR);
  return withSandboxUtxo(withSandboxEvm(config, live), live);
}
