// `npm run sandbox`: the local chains alone, each started when it can be — anvil (EVM, chain id
// 31337) with the contracts deployed, and a Litecoin Core regtest node when `litecoind` is installed
// (plus an Esplora facade over it). What they are is written to DATA_DIR/sandbox.json, where the
// gateway (`npm start`) finds them. Runs until Ctrl-C.
//   SANDBOX_BLOCK_SECONDS   seconds between Litecoin blocks (default 10; 0: only on demand,
//                           `npm run sandbox:pay -- mine [n]`)
import { startSandboxEvm } from './evm';
import { startSandboxLitecoin } from './litecoin';

interface Started {
  readonly name: string;
  stop(): Promise<void>;
}

async function main(): Promise<void> {
  const dataDir = process.env['DATA_DIR'] || '.data';
  const log = (line: string) => console.log(line);
  const started: Started[] = [];
  const failures: string[] = [];

  try {
    const evm = await startSandboxEvm({ dataDir, log });
    started.push({ name: 'anvil', stop: () => evm.stop() });
  } catch (err) {
    failures.push(`EVM (anvil): ${(err as Error).message}`);
  }
  try {
    const seconds = process.env['SANDBOX_BLOCK_SECONDS'];
    const ltc = await startSandboxLitecoin({
      dataDir,
      log,
      ...(seconds !== undefined && seconds !== '' ? { blockSeconds: Number(seconds) } : {}),
    });
    if (ltc) started.push({ name: 'litecoind', stop: () => ltc.stop() });
  } catch (err) {
    failures.push(`Litecoin (litecoind): ${(err as Error).message}`);
  }

  for (const f of failures) console.error(`sandbox: could not start ${f}`);
  if (started.length === 0) {
    console.error('sandbox: no chain could be started');
    process.exit(1);
  }
  console.log(`sandbox ready: ${started.map((s) => s.name).join(', ')} (Ctrl-C stops)`);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await Promise.allSettled(started.map((s) => s.stop()));
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

main().catch((err) => {
  console.error(`sandbox failed: ${(err as Error).message}`);
  process.exit(1);
});
