// `npm run sandbox`: the local chains alone, each started when it can be — anvil (EVM, chain id
// 31337) with the contracts deployed, and a Litecoin Core regtest node when `litecoind` is installed
// (plus an Esplora facade over it). What they are is written to DATA_DIR/sandbox.json, where the
// gateway (`npm start`) finds them. Runs until Ctrl-C.
//   SANDBOX_BLOCK_SECONDS   seconds between Litecoin blocks (default 10; 0: only on demand,
//                           `npm run sandbox:pay -- mine [n]`)
import { findRunningSandbox, startSandboxChains } from './chains';

async function main(): Promise<void> {
  const dataDir = process.env['DATA_DIR'] || '.data';
  const log = (line: string) => console.log(line);
  const running = await findRunningSandbox(dataDir);
  if (running) {
    console.log(
      `sandbox: already running for ${dataDir} (${running.names.join(', ')}; ${running.owner.by}, pid ${running.owner.pid}); endpoints in ${dataDir}/sandbox.json`,
    );
    return;
  }
  const seconds = process.env['SANDBOX_BLOCK_SECONDS'];
  const chains = await startSandboxChains({
    dataDir,
    log,
    by: 'npm run sandbox',
    ...(seconds !== undefined && seconds !== '' ? { blockSeconds: Number(seconds) } : {}),
  });
  for (const f of chains.failures) console.error(`sandbox: could not start ${f}`);
  if (chains.names.length === 0) {
    await chains.stop();
    console.error('sandbox: no chain could be started');
    process.exit(1);
  }
  console.log(
    `sandbox ready: ${chains.names.join(', ')} (endpoints in ${dataDir}/sandbox.json; Ctrl-C stops)`,
  );
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await chains.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

main().catch((err) => {
  console.error(`sandbox failed: ${(err as Error).message}`);
  process.exit(1);
});
