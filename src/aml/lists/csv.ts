// Text lists: OFAC's per-asset address files (one address a line) and the operator's own CSV lists
// (RFC 4180). Pure string work, so an upload can be parsed in workerd as well as in the CLI.

import { NETWORKS } from '../../chains/networks';
import { type FieldError, ValidationError } from '../../lib/errors';
import { mapOfacAsset, normalizeAddress } from './normalize';
import { type AddressKind, ANY_ASSET, type ListEntry } from './types';

const MAX_REPORTED_ERRORS = 50;
const ASSET_CODE_RE = /^[A-Z0-9]{2,12}$/;
const INNER_SPACE_RE = /[\s\p{Cc}]/u;
const CSV_COLUMNS = ['address', 'asset', 'name', 'reason'] as const;
type CsvColumn = (typeof CSV_COLUMNS)[number];

/** Our assets by chain family, from the network catalogue: an operator's BTC row must hold a UTXO address. */
const FAMILY_OF_ASSET = new Map<string, 'utxo' | 'evm'>(
  Object.values(NETWORKS).flatMap((n) => n.assets.map((asset) => [asset, n.family] as const)),
);
const KINDS_OF_FAMILY: Readonly<Record<'utxo' | 'evm', readonly AddressKind[]>> = {
  utxo: ['bech32', 'base58'],
  evm: ['evm'],
};

function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

function fail(what: string, errors: FieldError[]): never {
  const shown = errors.slice(0, MAX_REPORTED_ERRORS);
  const more = errors.length - shown.length;
  const first = shown[0];
  const summary = first ? `${first.path}: ${first.message}` : '';
  throw new ValidationError(
    `${what}: ${errors.length} bad line(s); ${summary}${more > 0 ? ` (and ${more} more not listed)` : ''}`,
    shown,
    'list_invalid',
  );
}

/**
 * One address a line (OFAC's sanctioned_addresses_<ASSET>.txt); `#` starts a comment, blank lines are
 * skipped, a repeated address is kept once. `asset` may be an OFAC code (XBT → BTC).
 */
export function parsePlainList(text: string, asset: string): ListEntry[] {
  const ourAsset = mapOfacAsset(asset);
  if (!ASSET_CODE_RE.test(ourAsset)) {
    throw new ValidationError(`"${asset}" is not an asset code`, [{ path: 'asset', message: 'bad code' }]);
  }
  const entries: ListEntry[] = [];
  const seen = new Set<string>();
  const errors: FieldError[] = [];
  stripBom(text)
    .split(/\r?\n/)
    .forEach((raw, i) => {
      const hash = raw.indexOf('#');
      const line = (hash === -1 ? raw : raw.slice(0, hash)).trim();
      if (line === '') return;
      if (INNER_SPACE_RE.test(line)) {
        errors.push({ path: `line ${i + 1}`, message: `"${line}" holds more than one word` });
        return;
      }
      const { normalized, kind } = normalizeAddress(line);
      if (seen.has(normalized)) return;
      seen.add(normalized);
      entries.push({ address: normalized, asset: ourAsset, kind });
    });
  if (errors.length > 0) fail(`address list for ${ourAsset}`, errors);
  return entries;
}

interface CsvRecord {
  /** 1-based physical line where the record starts. */
  line: number;
  fields: string[];
}

/** RFC 4180 records: quoted fields may hold commas, quotes ("") and line breaks; CRLF or LF. */
function* csvRecords(text: string): Generator<CsvRecord> {
  let i = 0;
  let line = 1;
  const n = text.length;
  while (i < n) {
    const start = line;
    const fields: string[] = [];
    for (;;) {
      let value = '';
      if (text[i] === '"') {
        const openLine = line;
        i++;
        for (;;) {
          if (i >= n) throw csvError(openLine, 'a quoted field is never closed');
          const c = text[i]!;
          if (c === '"') {
            if (text[i + 1] === '"') {
              value += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (c === '\n') line++;
          value += c;
          i++;
        }
        const after = text[i];
        if (after !== undefined && after !== ',' && after !== '\n' && after !== '\r') {
          throw csvError(line, 'text after a closing quote (write "" for a quote inside a quoted field)');
        }
      } else {
        let end = i;
        while (end < n && text[end] !== ',' && text[end] !== '\n' && text[end] !== '\r') end++;
        value = text.slice(i, end);
        if (value.includes('"')) throw csvError(line, 'a quote inside an unquoted field (quote the field)');
        i = end;
      }
      fields.push(value);
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === '\r') i++;
      if (text[i] === '\n') {
        i++;
        line++;
      }
      break;
    }
    yield { line: start, fields };
  }
}

function csvError(line: number, message: string): ValidationError {
  return new ValidationError(
    `CSV list: line ${line}: ${message}`,
    [{ path: `line ${line}`, message }],
    'list_invalid',
  );
}

function isBlank(record: CsvRecord): boolean {
  return record.fields.every((f) => f.trim() === '');
}

function readHeader(record: CsvRecord | undefined): Map<CsvColumn, number> {
  const expected = CSV_COLUMNS.join(',');
  if (!record) throw csvError(1, `the list is empty; the first line must be the header ${expected}`);
  const columns = new Map<CsvColumn, number>();
  const errors: FieldError[] = [];
  record.fields.forEach((raw, index) => {
    const name = raw.trim().toLowerCase();
    if (!(CSV_COLUMNS as readonly string[]).includes(name)) {
      errors.push({ path: `line ${record.line}`, message: `unknown column "${raw}" (expected ${expected})` });
    } else if (columns.has(name as CsvColumn)) {
      errors.push({ path: `line ${record.line}`, message: `column "${name}" appears twice` });
    } else {
      columns.set(name as CsvColumn, index);
    }
  });
  if (!columns.has('address')) {
    errors.push({
      path: `line ${record.line}`,
      message: `the header must name an address column (${expected})`,
    });
  }
  if (errors.length > 0) fail('CSV list header', errors);
  return columns;
}

function readAsset(raw: string): string | undefined {
  const code = raw.trim().toUpperCase();
  if (code === '' || code === ANY_ASSET || code === 'ANY') return ANY_ASSET;
  const asset = mapOfacAsset(code);
  return ASSET_CODE_RE.test(asset) ? asset : undefined;
}

/**
 * The operator's own list: a header row naming `address,asset,name,reason` (any order; only `address`
 * required); an empty asset means every asset. Every bad row is reported with its line number in one
 * ValidationError; a repeated (asset, address) is kept once.
 */
export function parseCsvList(text: string): ListEntry[] {
  const records = [...csvRecords(stripBom(text))].filter((record) => !isBlank(record));
  const columns = readHeader(records[0]);
  const cell = (record: CsvRecord, column: CsvColumn): string => {
    const index = columns.get(column);
    return index === undefined ? '' : (record.fields[index] ?? '').trim();
  };

  const entries: ListEntry[] = [];
  const seen = new Set<string>();
  const errors: FieldError[] = [];
  for (const record of records.slice(1)) {
    const at = (column: string) => `line ${record.line}.${column}`;
    if (record.fields.length !== columns.size) {
      errors.push({
        path: `line ${record.line}`,
        message: `${record.fields.length} fields where the header has ${columns.size}`,
      });
      continue;
    }
    const rawAddress = cell(record, 'address');
    const asset = readAsset(cell(record, 'asset'));
    if (asset === undefined) {
      errors.push({ path: at('asset'), message: `"${cell(record, 'asset')}" is not an asset code` });
      continue;
    }
    if (rawAddress === '') {
      errors.push({ path: at('address'), message: 'the address is empty' });
      continue;
    }
    if (INNER_SPACE_RE.test(rawAddress)) {
      errors.push({ path: at('address'), message: `"${rawAddress}" holds spaces or control characters` });
      continue;
    }
    const { normalized, kind } = normalizeAddress(rawAddress);
    const family = FAMILY_OF_ASSET.get(asset);
    if (family !== undefined && !KINDS_OF_FAMILY[family].includes(kind)) {
      errors.push({
        path: at('address'),
        message: `"${rawAddress}" is not an address of ${asset} (${family})`,
      });
      continue;
    }
    const key = `${asset}\u0000${normalized}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const entry: ListEntry = { address: normalized, asset, kind };
    const name = cell(record, 'name');
    const reason = cell(record, 'reason');
    if (name !== '') entry.partyName = name;
    if (reason !== '') entry.reason = reason;
    entries.push(entry);
  }
  if (errors.length > 0) fail('CSV list', errors);
  return entries;
}
