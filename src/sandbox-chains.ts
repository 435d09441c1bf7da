// Node only. The sandbox chains as `npm start` sees them: it uses a sandbox already running for
// DATA_DIR (`npm run sandbox`), else starts its own as child processes it stops on exit, and follows
// DATA_DIR/sandbox.json so chains started (or restarted) after the gateway are picked up.
import { unwatchFile, watchFile } from 'node:fs';
import { join } from 'node:path';
import { SANDBOX_FILE } from './chains/evm/sandbox-file';
import type { Config } from './config';

export interface OwnChains {
  stop(): Promise<void>;
}

/** Starts the sandbox chains unless another process runs them for DATA_DIR; undefined when not ours. */
export async function startChainsForGateway(
  config: Config,
  say: (line: string) => void,
): Promise<OwnChains | undefined> {
  if (config.NETWORK_MODE !== 'sandbox' || !config.SANDBOX_CHAINS) return undefined;
  // Loaded here: only sandbox mode needs the chain launchers and the contract artifacts.
  const { findRunningSandbox, startSandboxChains } = await import('../sandbox/chains');
  const running = await findRunningSandbox(config.DATA_DIR);
  if (running) {
    say(`using the sandbox of ${running.owner.by} (pid ${running.owner.pid}): ${running.names.join(', ')}`);
    return undefined;
  }
  const chains = await startSandboxChains({ dataDir: config.DATA_DIR, log: say, by: 'npm start' });
  for (const f of chains.failures) say(`could not start ${f}`);
  return chains;
}

/** Calls `onChange` whenever DATA_DIR/sandbox.json changes (written, replaced or removed). */
export function watchSandboxFile(dataDir: string, onChange: () => void, intervalMs = 500): () => void {
  const file = join(dataDir, SANDBOX_FILE);
  // Polled stat: survives the file being replaced by rename (how it is written) or not existing yet.
  const listener = (cur: { mtimeMs: number; ino: number }, prev: { mtimeMs: number; ino: number }) => {
    if (cur.mtimeMs !== prev.mtimeMs || cur.ino !== prev.ino) onChange();
  };
  watchFile(file, { interval: intervalMs, persistent: false }, listener);
  return () => unwatchFile(file, listener);
}
