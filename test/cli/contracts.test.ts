// `contracts deploy` against a real anvil that plays a public testnet: started with Sepolia's chain id
// and one-second blocks, so confirmations take real time. Checks the addresses, the code, the
// router's settings, the idempotent second run, a timeout, and errors that name the bad option.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Contract, Wallet } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planDeployment, runtimeMatches } from '../../contracts/deploy-public';
import {
  DepositFactoryBytecode,
  PaymentRouterAbi,
  PaymentRouterBytecode,
} from '../../contracts/generated/index';
import { evmSettingsFromConfig } from '../../src/chains/evm/config';
import { loadConfig } from '../../src/config';
import { type Anvil, anvilAccount, startAnvil } from '../helpers/anvil';
import { cliRunner } from './helpers';

const SEPOLIA = 11155111;

describe('contracts deploy', () => {
  let anvil: Anvil;
  const dir = mkdtempSync(join(tmpdir(), 'alatau-deploy-'));
  const deployer = anvilAccount(0);
  const gatewaySigner = Wallet.createRandom();
  let cli: ReturnType<typeof cliRunner>;
  const base = () => ['contracts', 'deploy', '--network', 'ethereum-sepolia', '--rpc-url', anvil.rpcUrl];

  beforeAll(async () => {
    anvil = await startAnvil({ chainId: SEPOLIA, blockTime: 1 });
    cli = cliRunner({ EVM_DEPLOYER_KEY: deployer.privateKey, GATEWAY_SIGNER_KEY: gatewaySigner.privateKey });
  });
  afterAll(async () => {
    await anvil?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses bad input with an error naming the option', async () => {
    const cases: [string[], Record<string, string | undefined>, RegExp][] = [
      [
        ['contracts', 'deploy', '--network', 'sepolia', '--rpc-url', 'http://x'],
        {},
        /--network must be one of/,
      ],
      [
        ['contracts', 'deploy', '--network', 'ethereum', '--rpc-url', 'http://x'],
        {},
        /--network must be one of/,
      ],
      [['contracts', 'deploy', '--network', 'ethereum-sepolia', '--rpc-url', 'ftp://x'], {}, /--rpc-url/],
      [
        ['contracts', 'deploy', '--network', 'ethereum-sepolia'],
        {},
        /--rpc-url is required \(or set ETHEREUM_SEPOLIA_RPC_URLS\)/,
      ],
      [[...base(), '--signer', '0x1234'], {}, /--signer must be a 0x address/],
      [[...base(), '--owner', 'nobody'], {}, /--owner must be a 0x address/],
      [[...base(), '--confirmations', '0'], {}, /--confirmations must be a whole number from 1 to 100/],
      [[...base()], { EVM_DEPLOYER_KEY: undefined }, /EVM_DEPLOYER_KEY is not set/],
      [
        [...base()],
        { EVM_DEPLOYER_KEY: '0xnothex' },
        /EVM_DEPLOYER_KEY must be 0x followed by 64 hex digits/,
      ],
      [
        [...base()],
        { GATEWAY_SIGNER_KEY: undefined },
        /--signer is required when GATEWAY_SIGNER_KEY is not set/,
      ],
      // The node answers, but it is another chain.
      [
        ['contracts', 'deploy', '--network', 'base-sepolia', '--rpc-url', anvil.rpcUrl],
        {},
        /--rpc-url: .* is chain 11155111, not base-sepolia \(chain 84532\)/,
      ],
      // Nothing listens there.
      [
        ['contracts', 'deploy', '--network', 'ethereum-sepolia', '--rpc-url', 'http://127.0.0.1:1'],
        {},
        /--rpc-url: no JSON-RPC answer/,
      ],
    ];
    for (const [argv, env, message] of cases) {
      const r = await cli(argv, env);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.stderr, argv.join(' ')).toMatch(message);
      expect(r.stdout).toBe('');
    }
    // With --json the error is machine-readable and carries the flag.
    const j = await cli([...base(), '--signer', 'x', '--json']);
    expect(JSON.parse(j.stderr)).toMatchObject({
      error: { code: 'cli_usage', errors: [{ flag: '--signer' }] },
    });
  });

  it('says when the deployer has nothing to pay gas with', async () => {
    const r = await cli(base(), { EVM_DEPLOYER_KEY: Wallet.createRandom().privateKey });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/has no ETH on ethereum-sepolia: fund it/);
  });

  it('deploys, verifies and prints the variables the gateway reads; a second run deploys nothing', async () => {
    const planned = planDeployment({ owner: deployer.address, gatewaySigner: gatewaySigner.address });
    const dry = await cli([...base(), '--dry-run', '--json']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.json()).toMatchObject({
      dryRun: true,
      env: {
        ETHEREUM_SEPOLIA_ROUTER_ADDRESS: planned[0]!.address,
        ETHEREUM_SEPOLIA_DEPOSIT_FACTORY_ADDRESS: planned[1]!.address,
      },
    });
    expect(await anvil.provider.getCode(planned[0]!.address)).toBe('0x');

    const envFile = join(dir, 'gateway.env');
    writeFileSync(envFile, 'NETWORK_MODE=testnet\nETHEREUM_SEPOLIA_ROUTER_ADDRESS=0xold\n', { mode: 0o600 });
    const nonceBefore = await anvil.provider.getTransactionCount(deployer.address);
    const started = Date.now();
    const first = await cli([...base(), '--json', '--env-file', envFile]);
    expect(first.code, first.stderr).toBe(0);
    // Two confirmations each on one-second blocks: it really waited.
    expect(Date.now() - started).toBeGreaterThan(1500);
    const out = first.json<{
      contracts: { name: string; address: string; status: string; txHash: string; blockNumber: number }[];
      env: Record<string, string>;
      owner: string;
      gatewaySigner: string;
    }>();
    expect(out.contracts.map((c) => [c.name, c.status])).toEqual([
      ['PaymentRouter', 'deployed'],
      ['DepositFactory', 'deployed'],
    ]);
    const router = out.env['ETHEREUM_SEPOLIA_ROUTER_ADDRESS']!;
    const factory = out.env['ETHEREUM_SEPOLIA_DEPOSIT_FACTORY_ADDRESS']!;
    expect([router, factory]).toEqual([planned[0]!.address, planned[1]!.address]);
    expect(out.owner).toBe(deployer.address);
    expect(out.gatewaySigner).toBe(gatewaySigner.address);
    expect(await anvil.provider.getTransactionCount(deployer.address)).toBe(nonceBefore + 2);
    for (const [address, bytecode] of [
      [router, PaymentRouterBytecode],
      [factory, DepositFactoryBytecode],
    ] as const) {
      const code = await anvil.provider.getCode(address);
      expect(code.length).toBeGreaterThan(1000);
      expect(runtimeMatches(code, bytecode)).toBe(true);
    }
    const r = new Contract(router, PaymentRouterAbi, anvil.provider);
    expect(await r.getFunction('owner')()).toBe(deployer.address);
    expect(await r.getFunction('isSigner')(gatewaySigner.address)).toBe(true);
    // Neither key is ever printed.
    for (const text of [first.stdout, first.stderr, dry.stdout, dry.stderr]) {
      expect(text.toLowerCase()).not.toContain(deployer.privateKey.slice(2).toLowerCase());
      expect(text.toLowerCase()).not.toContain(gatewaySigner.privateKey.slice(2).toLowerCase());
    }

    // The env file: the stale line replaced, the others kept, still private.
    expect(readFileSync(envFile, 'utf8')).toBe(
      `NETWORK_MODE=testnet\nETHEREUM_SEPOLIA_ROUTER_ADDRESS=${router}\nETHEREUM_SEPOLIA_DEPOSIT_FACTORY_ADDRESS=${factory}\n`,
    );
    expect(statSync(envFile).mode & 0o077).toBe(0);

    // The gateway reads exactly these variables.
    const settings = evmSettingsFromConfig(
      loadConfig({ NETWORK_MODE: 'testnet', ETHEREUM_SEPOLIA_RPC_URLS: anvil.rpcUrl, ...out.env }),
    );
    expect(settings.networks.get('ethereum-sepolia')).toMatchObject({
      chainId: SEPOLIA,
      router,
      depositFactory: factory,
    });

    // Second run: idempotent, nothing sent, the same addresses, verified again. The RPC URL now comes
    // from the gateway's own variable.
    const again = await cli(['contracts', 'deploy', '--network', 'ethereum-sepolia'], {
      ETHEREUM_SEPOLIA_RPC_URLS: `${anvil.rpcUrl},http://127.0.0.1:1`,
    });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain(`PaymentRouter   ${router}  already deployed`);
    expect(again.stdout).toContain(`ETHEREUM_SEPOLIA_DEPOSIT_FACTORY_ADDRESS=${factory}`);
    expect(await anvil.provider.getTransactionCount(deployer.address)).toBe(nonceBefore + 2);
  });

  it('gives up waiting after --timeout and deploys only what is missing when run again', async () => {
    // A new signer is a new router and a new deposit factory (their addresses commit to the
    // constructor arguments); the first run gives up on the router before sending the factory.
    const other = Wallet.createRandom().address;
    const slow = await cli([...base(), '--signer', other, '--confirmations', '100', '--timeout', '2']);
    expect(slow.code).toBe(1);
    expect(slow.stderr).toMatch(
      /PaymentRouter: transaction 0x[0-9a-f]{64} did not get 100 confirmation\(s\) within 2 s/,
    );
    const rerun = await cli([...base(), '--signer', other, '--confirmations', '1', '--json']);
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(rerun.json<{ contracts: { status: string }[] }>().contracts.map((c) => c.status)).toEqual([
      'existing',
      'deployed',
    ]);
  });

  it('rejects code that is not the generated runtime', async () => {
    const planned = planDeployment({ owner: deployer.address, gatewaySigner: gatewaySigner.address });
    const code = await anvil.provider.getCode(planned[0]!.address);
    expect(runtimeMatches(code, PaymentRouterBytecode)).toBe(true);
    expect(runtimeMatches(code, DepositFactoryBytecode)).toBe(false);
    // One byte changed in the first half of the code, where no immutable lives.
    const at = 2 + 2 * 200;
    const flipped = code.slice(0, at) + (code.slice(at, at + 2) === 'ff' ? '00' : 'ff') + code.slice(at + 2);
    expect(runtimeMatches(flipped, PaymentRouterBytecode)).toBe(false);
    expect(runtimeMatches('0x', PaymentRouterBytecode)).toBe(false);
  });
});
