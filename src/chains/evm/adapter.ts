// EVM option creation: the invoice's deposit address (CREATE2, computed offline) and an EIP-681 URI.
// All options of one invoice on one network share its deposit address: the forwarder there flushes
// the native coin and every listed token to the merchant, and a payer who sends USDC instead of ETH
// is still credited to the USDC option.
import { getAddress } from 'ethers';
import { ConflictError } from '../../lib/errors';
import type { Merchant } from '../../merchants/repository';
import { NETWORKS, type PaymentOptionId } from '../networks';
import type { ChainAdapter, CreatedOption, OptionRequest } from '../types';
import type { EvmNetworkConfig } from './config';
import { depositAddressFor } from './deposit';
import { evmVar } from './env';
import { nativeTransferUri, tokenTransferUri } from './uri';

export interface EvmAdapterOptions {
  readonly networks: ReadonlyMap<string, EvmNetworkConfig>;
}

function validPayout(m: Merchant): string | undefined {
  if (!m.evmPayoutAddress) return undefined;
  try {
    return getAddress(m.evmPayoutAddress);
  } catch {
    return undefined;
  }
}

export function createEvmAdapter(options: EvmAdapterOptions): ChainAdapter {
  const reason = (merchant: Merchant, option: PaymentOptionId): string | undefined => {
    const net = options.networks.get(option.network);
    if (!net) {
      return `${option.network} is not configured on this gateway (${evmVar(option.network, 'RPC_URLS')} and ${evmVar(option.network, 'DEPOSIT_FACTORY_ADDRESS')})`;
    }
    if (option.asset !== NETWORKS[option.network].nativeAsset && !net.tokens[option.asset]) {
      return `${option.asset} has no token contract configured on ${option.network}`;
    }
    if (!validPayout(merchant)) return 'the merchant has no EVM payout address';
    return undefined;
  };

  return {
    family: 'evm',
    unavailableReason: reason,
    async createPaymentOption(req: OptionRequest): Promise<CreatedOption> {
      const why = reason(req.merchant, req.option);
      if (why) throw new ConflictError('option_unavailable', why, 422);
      const net = options.networks.get(req.option.network)!;
      const deposit = depositAddressFor(net.depositFactory, req.invoiceId, validPayout(req.merchant)!);
      const token =
        req.option.asset === NETWORKS[req.option.network].nativeAsset
          ? undefined
          : net.tokens[req.option.asset];
      const uri = token
        ? tokenTransferUri(token, net.chainId, deposit.address, req.amountAtomic)
        : nativeTransferUri(deposit.address, net.chainId, req.amountAtomic);
      return {
        address: deposit.address,
        uri,
        derivationIndex: null,
        details: {
          chainId: net.chainId,
          ...(token ? { tokenAddress: token } : {}),
          routerAddress: net.router,
          depositFactory: net.depositFactory,
          invoiceKey: deposit.invoiceKey,
          salt: deposit.salt,
          payout: deposit.payout,
        },
      };
    },
  };
}
