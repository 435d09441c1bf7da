// The on-chain sanctions oracle on a real anvil with the sandbox's MockSanctionsOracle.
import { ContractFactory, JsonRpcProvider, Network } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MockSanctionsOracleAbi,
  MockSanctionsOracleBytecode,
} from '../../contracts/generated/MockSanctionsOracle';
import { createOracleScreener } from '../../src/aml/screeners/oracle';
import type { ScreenSubject } from '../../src/aml/types';
import { type Anvil, anvilAccount, startAnvil } from '../helpers/anvil';

let anvil: Anvil;
let oracleAddress: string;
const listed = anvilAccount(3).address;
const clean = anvilAccount(4).address;

beforeAll(async () => {
  anvil = await startAnvil();
  const owner = anvilAccount(0, anvil.provider);
  const factory = new ContractFactory(MockSanctionsOracleAbi, MockSanctionsOracleBytecode, owner);
  const oracle = await factory.deploy();
  await oracle.waitForDeployment();
  oracleAddress = await oracle.getAddress();
  await (await oracle.getFunction('setSanctioned')(listed, true)).wait();
});
afterAll(() => anvil?.stop());

const subject = (network: ScreenSubject['network'], addresses: string[]): ScreenSubject => ({
  kind: 'payer',
  network,
  addresses,
  amountTiyn: 1n,
  invoiceId: 'inv_x',
  at: new Date(),
  q: undefined as never,
});

describe('the sanctions oracle screener', () => {
  it('is severe for an address the oracle lists, none otherwise and on networks without an oracle', async () => {
    const s = createOracleScreener({
      oracles: { anvil: { address: oracleAddress, runner: anvil.provider } },
      timeoutMs: 3000,
      failPolicy: 'hold',
    });
    const hit = await s.screen(subject('anvil', [listed.toLowerCase()]));
    expect(hit.risk).toBe('severe');
    expect(hit.reasons).toEqual([expect.objectContaining({ code: 'oracle_sanctioned' })]);
    expect((await s.screen(subject('anvil', [clean]))).risk).toBe('none');
    expect((await s.screen(subject('ethereum-sepolia', [listed]))).risk).toBe('none');
  });

  it('an unreachable node follows the fail policy', async () => {
    const dead = new JsonRpcProvider('http://127.0.0.1:9', undefined, { staticNetwork: Network.from(31337) });
    try {
      const hold = createOracleScreener({
        oracles: { anvil: { address: oracleAddress, runner: dead } },
        timeoutMs: 500,
        failPolicy: 'hold',
      });
      const r = await hold.screen(subject('anvil', [clean]));
      expect(r.risk).toBe('high');
      expect(r.reasons[0]!.code).toBe('oracle_unavailable');
      const allow = createOracleScreener({
        oracles: { anvil: { address: oracleAddress, runner: dead } },
        timeoutMs: 500,
        failPolicy: 'allow',
      });
      expect((await allow.screen(subject('anvil', [clean]))).risk).toBe('none');
    } finally {
      dead.destroy();
    }
  });
});
