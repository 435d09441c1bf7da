// Where the tests find OFAC's data (shared/ beside the checkout, as in CI) and the hand-written fixtures.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const OFAC_DIR =
  process.env.OFAC_DATA_DIR ?? fileURLToPath(new URL('../../../../shared/data/ofac/', import.meta.url));
export const SDN_BZ2 = `${OFAC_DIR.replace(/\/$/, '')}/sdn_advanced.xml.bz2`;
export const FIXTURE_DIR = fileURLToPath(new URL('../../fixtures/aml/', import.meta.url));

/** The assets of OFAC's per-asset files, by OFAC code. */
export const OFAC_TXT_ASSETS = ['XBT', 'ETH', 'USDT', 'TRX', 'LTC', 'USDC'] as const;

export function readOfacTxt(asset: string): string {
  return readFileSync(`${OFAC_DIR.replace(/\/$/, '')}/sanctioned_addresses_${asset}.txt`, 'utf8');
}

export const TORNADO_ROUTER = '0x8589427373D6D84E98730D7795D8f6f8731FDA16';
