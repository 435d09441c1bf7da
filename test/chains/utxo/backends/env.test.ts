// UTXO configuration: per-network backend variables, validated with the variable named (and a URL
// that may carry a password never echoed), only networks of the current mode watched, and the
// sandbox node picked up from DATA_DIR/sandbox.json unless the environment says otherwise.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { utxoSettingsFromConfig, utxoVar } from '../../../../src/chains/utxo/backends/env';
import { withSandboxUtxo, writeSandboxUtxo } from '../../../../src/chains/utxo/backends/sandbox-file';
import { ConfigError, loadConfig } from '../../../../src/config';

const dir = mkdtempSync(join(tmpdir(), 'alatau-utxo-env-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('UTXO environment', () => {
  it('names variables per network', () => {
    expect(utxoVar('litecoin-regtest', 'RPC_URL')).toBe('LITECOIN_REGTEST_RPC_URL');
    expect(utxoVar('bitcoin-testnet4', 'ESPLORA_URL')).toBe('BITCOIN_TESTNET4_ESPLORA_URL');
  });

  it('watches only the configured networks of the current mode, the node winning over Esplora', () => {
    const config = loadConfig({
      NETWORK_MODE: 'testnet',
      BITCOIN_TESTNET4_ESPLORA_URL: 'https://mempool.space/testnet4/api',
      BITCOIN_SIGNET_RPC_URL: 'http://u:p@127.0.0.1:38332',
      BITCOIN_SIGNET_ESPLORA_URL: 'https://mempool.space/signet/api',
      LITECOIN_REGTEST_RPC_URL: 'http://u:p@127.0.0.1:19443',
      UTXO_SCAN_MAX_BLOCKS: '7',
    });
    const s = utxoSettingsFromConfig(config as unknown as Record<string, unknown>);
    expect(s.networks).toEqual([
      {
        network: 'bitcoin-testnet4',
        backend: { kind: 'esplora', url: 'https://mempool.space/testnet4/api' },
      },
      { network: 'bitcoin-signet', backend: { kind: 'rpc', url: 'http://u:p@127.0.0.1:38332' } },
    ]);
    expect(s.scanMaxBlocks).toBe(7);
  });

  it('refuses a bad URL naming the variable, without echoing what may be a password', () => {
    let err: unknown;
    try {
      loadConfig({ LITECOIN_REGTEST_RPC_URL: 'ftp://user:hunter2@host', UTXO_RETRIES: 'many' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const message = (err as ConfigError).message;
    expect(message).toMatch(/LITECOIN_REGTEST_RPC_URL: expected an http\(s\) URL/);
    expect(message).toMatch(/UTXO_RETRIES: expected a whole number/);
    expect(message).not.toContain('hunter2');
  });

  it('uses the sandbox node recorded in sandbox.json, unless a variable is set', () => {
    writeSandboxUtxo(dir, 'litecoin-regtest', {
      rpcUrl: 'http://alatau:pw@127.0.0.1:19443',
      esploraUrl: 'http://127.0.0.1:3002',
      wallet: 'sandbox',
      startedAt: new Date(0).toISOString(),
    });
    const filled = withSandboxUtxo(loadConfig({ DATA_DIR: dir }));
    expect(utxoSettingsFromConfig(filled as unknown as Record<string, unknown>).networks).toEqual([
      { network: 'litecoin-regtest', backend: { kind: 'rpc', url: 'http://alatau:pw@127.0.0.1:19443' } },
    ]);
    const own = withSandboxUtxo(loadConfig({ DATA_DIR: dir, LITECOIN_REGTEST_ESPLORA_URL: 'http://e.test' }));
    expect(utxoSettingsFromConfig(own as unknown as Record<string, unknown>).networks).toEqual([
      { network: 'litecoin-regtest', backend: { kind: 'esplora', url: 'http://e.test' } },
    ]);
    const testnet = withSandboxUtxo(loadConfig({ DATA_DIR: dir, NETWORK_MODE: 'testnet' }));
    expect(utxoSettingsFromConfig(testnet as unknown as Record<string, unknown>).networks).toEqual([]);
  });
});
