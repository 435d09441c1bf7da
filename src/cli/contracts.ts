// `contracts deploy`: puts the PaymentRouter and DepositFactory on a public EVM network (a Sepolia-class
// testnet) and prints the variables the gateway reads (<NETWORK>_ROUTER_ADDRESS,
// <NETWORK>_DEPOSIT_FACTORY_ADDRESS, src/chains/evm/env.ts). The deployer key comes from
// EVM_DEPLOYER_KEY only: a flag would land in shell history and process lists. It is never printed.
// Deployment is deterministic (contracts/deploy-public.ts): a second run deploys nothing.
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { FetchRequest, getAddress, JsonRpcProvider, Network, Wallet } from 'ethers';
import { DeployError, deployPublic } from '../../contracts/deploy-public';
import { EVM_NETWORK_IDS, evmVar, isEvmAddress } from '../chains/evm/env';
import { NETWORKS, type NetworkId } from '../chains/networks';
import { AppError } from '../lib/errors';
import { CliUsageError } from './args';
import type { CliCommand } from './types';

export const DEPLOYER_KEY_VAR = 'EVM_DEPLOYER_KEY';
/** Mainnet is left out on purpose: deploying there deserves more ceremony than one command. */
export const DEPLOY_NETWORKS = EVM_NETWORK_IDS.filter((n) => NETWORKS[n].mode !== 'mainnet');

/** A deployment that could not finish (RPC down, out of gas, timed out, code mismatch): exit 1. */
export class ContractsDeployError extends AppError {
  override readonly name = 'ContractsDeployError';
  constructor(message: string, cause?: unknown) {
    super('deploy_failed', message, { status: 502, cause });
  }
}

function httpUrl(v: string): boolean {
  try {
    const u = new URL(v);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

/** The URL without credentials or query (providers often put an API key there). */
function redactUrl(v: string): string {
  try {
    const u = new URL(v);
    return `${u.protocol}//${u.host}${u.pathname.length > 1 ? '/…' : ''}`;
  } catch {
    return '(unparsable URL)';
  }
}

function addressFlag(flag: string, v: string): string {
  if (!isEvmAddress(v)) {
    throw new CliUsageError(
      `--${flag} must be a 0x address of 40 hex digits (mixed case must be a valid EIP-55 checksum)`,
      `--${flag}`,
    );
  }
  return getAddress(v);
}

/** Replaces (or appends) KEY=VALUE lines, keeping everything else in the file. */
export function updateEnvFile(path: string, vars: Readonly<Record<string, string>>): void {
  const existing = existsSync(path) ? readFileSync(path, 'utf8') : '';
  const lines = existing === '' ? [] : existing.replace(/\n$/, '').split('\n');
  const left = new Map(Object.entries(vars));
  const out = lines.map((line) => {
    const key = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=/.exec(line)?.[1];
    if (key && left.has(key)) {
      const v = left.get(key)!;
      left.delete(key);
      return `${key}=${v}`;
    }
    return line;
  });
  for (const [k, v] of left) out.push(`${k}=${v}`);
  // An env file often holds secrets too: keep its mode, and create it private.
  const mode = existsSync(path) ? statSync(path).mode & 0o777 : 0o600;
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${out.join('\n')}\n`, { mode });
  renameSync(tmp, path);
}

const deploy: CliCommand = {
  name: 'contracts deploy',
  summary:
    'Deploy the payment router and deposit factory to a public EVM testnet (key from EVM_DEPLOYER_KEY).',
  flags: {
    network: {
      kind: 'string',
      required: true,
      placeholder: 'NAME',
      description: `the network: ${DEPLOY_NETWORKS.join(', ')}`,
    },
    'rpc-url': {
      kind: 'string',
      placeholder: 'URL',
      description: "the node's JSON-RPC URL (default: the first of <NETWORK>_RPC_URLS)",
    },
    signer: {
      kind: 'string',
      placeholder: '0x…',
      description:
        "the gateway signer the router (intents) and the deposit factory (flush authorizations) trust (default: GATEWAY_SIGNER_KEY's address)",
    },
    owner: {
      kind: 'string',
      placeholder: '0x…',
      description:
        "the router's and the deposit factory's owner, who rotates signers and pauses (default: the deployer)",
    },
    confirmations: {
      kind: 'string',
      placeholder: 'N',
      description: 'blocks to wait on each deployment (default 2)',
    },
    timeout: {
      kind: 'string',
      placeholder: 'SECONDS',
      description: 'how long to wait for each deployment (default 300)',
    },
    'env-file': {
      kind: 'string',
      placeholder: 'PATH',
      description: 'also write the variables into this env file (other lines are kept)',
    },
    'dry-run': { kind: 'boolean', description: 'print where the contracts are or would be; send nothing' },
  },
  examples: [
    'contracts deploy --network ethereum-sepolia --rpc-url https://sepolia.example/rpc',
    'contracts deploy --network base-sepolia --env-file .env --json',
  ],
  async run(ctx) {
    const { flags, env } = ctx;
    const network = flags.oneOf('network', DEPLOY_NETWORKS) as NetworkId;
    const info = NETWORKS[network];
    const chainId = info.chainId!;
    const confirmations = flags.int('confirmations', 1, 100) ?? 2;
    const timeoutMs = (flags.int('timeout', 1, 86_400) ?? 300) * 1000;

    const urlsVar = evmVar(network, 'RPC_URLS');
    const rpcUrl = flags.string('rpc-url') ?? env[urlsVar]?.split(',')[0]?.trim();
    if (!rpcUrl) throw new CliUsageError(`--rpc-url is required (or set ${urlsVar})`, '--rpc-url');
    if (!httpUrl(rpcUrl)) {
      throw new CliUsageError(
        flags.has('rpc-url') ? '--rpc-url must be an http(s) URL' : `${urlsVar} must list http(s) URLs`,
        '--rpc-url',
      );
    }

    const rawKey = env[DEPLOYER_KEY_VAR]?.trim();
    if (!rawKey) {
      throw new CliUsageError(
        `${DEPLOYER_KEY_VAR} is not set: export the deployer's private key (a funded account) in it`,
      );
    }
    if (!/^0x[0-9a-fA-F]{64}$/.test(rawKey) || /^0x0{64}$/.test(rawKey)) {
      throw new CliUsageError(`${DEPLOYER_KEY_VAR} must be 0x followed by 64 hex digits`);
    }

    let gatewaySigner: string;
    const signerFlag = flags.string('signer');
    if (signerFlag !== undefined) gatewaySigner = addressFlag('signer', signerFlag);
    else {
      const gk = env['GATEWAY_SIGNER_KEY']?.trim();
      if (!gk || !/^0x[0-9a-fA-F]{64}$/.test(gk)) {
        throw new CliUsageError(
          '--signer is required when GATEWAY_SIGNER_KEY is not set (the address whose intents and flush authorizations the contracts accept)',
          '--signer',
        );
      }
      gatewaySigner = new Wallet(gk).address;
    }

    const request = new FetchRequest(rpcUrl);
    request.timeout = Math.min(timeoutMs, 30_000);
    const expected = Network.from(chainId);
    // A static network: no detection loop that retries forever when the URL is wrong.
    const provider = new JsonRpcProvider(request, expected, {
      staticNetwork: expected,
      cacheTimeout: -1,
      batchMaxCount: 1,
      pollingInterval: 1000,
    });
    try {
      const where = redactUrl(rpcUrl);
      let answered: bigint;
      try {
        answered = BigInt((await provider.send('eth_chainId', [])) as string);
      } catch (err) {
        throw new CliUsageError(
          `--rpc-url: no JSON-RPC answer from ${where} (${shortError(err)})`,
          '--rpc-url',
        );
      }
      if (answered !== BigInt(chainId)) {
        throw new CliUsageError(
          `--rpc-url: ${where} is chain ${answered}, not ${network} (chain ${chainId})`,
          '--rpc-url',
        );
      }
      const deployer = new Wallet(rawKey, provider);
      const owner = flags.has('owner') ? addressFlag('owner', flags.required('owner')) : deployer.address;
      const dryRun = flags.bool('dry-run');
      if (!dryRun && (await provider.getBalance(deployer.address)) === 0n) {
        throw new ContractsDeployError(
          `the deployer ${deployer.address} has no ${info.nativeAsset} on ${network}: fund it (a faucet) and run again`,
        );
      }
      let result: Awaited<ReturnType<typeof deployPublic>>;
      try {
        result = await deployPublic({
          deployer,
          provider,
          owner,
          gatewaySigner,
          confirmations,
          timeoutMs,
          dryRun,
          log: (l) => ctx.note(l),
        });
      } catch (err) {
        if (err instanceof DeployError) throw new ContractsDeployError(err.message, err);
        throw new ContractsDeployError(`deployment on ${network} failed: ${shortError(err)}`, err);
      }
      const vars = {
        [evmVar(network, 'ROUTER_ADDRESS')]: result.router,
        [evmVar(network, 'DEPOSIT_FACTORY_ADDRESS')]: result.depositFactory,
      };
      const envFile = flags.string('env-file');
      if (envFile && !dryRun) updateEnvFile(envFile, vars);
      const human = [
        ...result.contracts.map(
          (c) =>
            `${c.name.padEnd(14)}  ${c.address}  ${dryRun ? (c.status === 'existing' ? 'exists' : 'would deploy') : c.status === 'existing' ? 'already deployed' : `deployed in block ${c.blockNumber}`}`,
        ),
        '',
        `Add to the gateway's environment (network ${network}, router signer ${gatewaySigner}):`,
        ...Object.entries(vars).map(([k, v]) => `${k}=${v}`),
        ...(envFile && !dryRun ? [`(written to ${envFile})`] : []),
      ].join('\n');
      ctx.print(human, {
        network,
        chainId,
        dryRun,
        deployer: deployer.address,
        owner,
        gatewaySigner,
        contracts: result.contracts,
        env: vars,
      });
      return 0;
    } finally {
      provider.destroy();
    }
  },
};

function shortError(err: unknown): string {
  const e = err as { shortMessage?: string; message?: string };
  return e?.shortMessage ?? e?.message ?? String(err);
}

export const contractsCommands: readonly CliCommand[] = [deploy];
