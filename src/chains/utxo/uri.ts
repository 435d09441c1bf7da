// BIP21/BIP321 payment URIs for the UTXO chains (`bitcoin:…`, `litecoin:…`), shown as a QR code beside
// the copy fields on the checkout page.
import { ValidationError } from '../../lib/errors';
import { formatUnits, MoneyFormatError, parseUnits } from '../../lib/money';

export interface Bip21Request {
  readonly scheme: 'bitcoin' | 'litecoin';
  readonly address: string;
  /** Decimal string in coins (BTC, LTC), at most 8 places, no exponent. */
  readonly amount?: string;
  readonly label?: string;
  readonly message?: string;
}

const COIN_DECIMALS = 8;

function invalid(path: string, message: string): never {
  throw new ValidationError(message, [{ path, message }], 'invalid_payment_uri');
}

function encode(path: string, text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    return invalid(path, 'text is not valid Unicode');
  }
}

/**
 * Builds `scheme:address?amount=…&label=…&message=…`. The address is written as given (wallets
 * compare it byte for byte); label and message are percent-encoded (a space is %20, never +).
 */
export function bip21Uri(req: Bip21Request): string {
  if (req.scheme !== 'bitcoin' && req.scheme !== 'litecoin') invalid('scheme', 'unsupported URI scheme');
  // Addresses are base58 or bech32: letters and digits only, nothing that could end the path early.
  if (!/^[A-Za-z0-9]{14,90}$/.test(req.address)) invalid('address', 'not an address');
  const params: string[] = [];
  if (req.amount !== undefined) {
    let atomic: bigint;
    try {
      atomic = parseUnits(req.amount, COIN_DECIMALS);
    } catch (err) {
      if (err instanceof MoneyFormatError) invalid('amount', err.message);
      throw err;
    }
    if (atomic === 0n) invalid('amount', 'amount must be greater than zero');
    // Same value, canonical text: "0.00010000" → "0.0001", "1.0" → "1".
    params.push(`amount=${formatUnits(atomic, COIN_DECIMALS)}`);
  }
  if (req.label) params.push(`label=${encode('label', req.label)}`);
  if (req.message) params.push(`message=${encode('message', req.message)}`);
  return `${req.scheme}:${req.address}${params.length ? `?${params.join('&')}` : ''}`;
}
