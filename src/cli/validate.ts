// Flag values shared by several commands, checked before anything touches the database.
import { parseOption } from '../chains/networks';
import { type IdPrefix, isId } from '../lib/ids';
import { CliUsageError, type Flags, truncate } from './args';

/** A required id flag such as `--merchant mer_…`. */
export function idFlag(flags: Flags, name: string, prefix: IdPrefix): string {
  const v = flags.required(name);
  if (!isId(prefix, v)) {
    throw new CliUsageError(
      `--${name} must be an id of the form ${prefix}_… (got "${truncate(v)}")`,
      `--${name}`,
    );
  }
  return v;
}

/** `--options BTC@bitcoin-regtest,LTC@litecoin-regtest`; an empty value clears the list. */
export function optionsFlag(flags: Flags, name = 'options'): string[] | undefined {
  const v = flags.string(name);
  if (v === undefined) return undefined;
  const list = v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = list.filter((o) => !parseOption(o));
  if (bad.length) {
    throw new CliUsageError(
      `--${name}: unknown payment option ${bad.join(', ')}; use ASSET@network such as BTC@bitcoin-testnet4`,
      `--${name}`,
    );
  }
  return [...new Set(list)];
}

/** An EVM address, returned EIP-55 checksummed; a mixed-case address with a wrong checksum is refused. */
export async function evmAddressFlag(flags: Flags, name: string): Promise<string | undefined> {
  const v = flags.string(name);
  if (v === undefined) return undefined;
  if (!/^0x[0-9a-fA-F]{40}$/.test(v)) {
    throw new CliUsageError(
      `--${name} must be an EVM address 0x + 40 hex digits (got "${truncate(v)}")`,
      `--${name}`,
    );
  }
  const { getAddress } = await import('ethers');
  try {
    return getAddress(v);
  } catch {
    throw new CliUsageError(
      `--${name}: the address's EIP-55 checksum (its mixed case) is wrong`,
      `--${name}`,
    );
  }
}
