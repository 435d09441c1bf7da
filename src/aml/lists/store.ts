// Sanctions lists in PostgreSQL: a re-import replaces a list's entries, keeps a numbered version with
// what was added and removed, and bumps one counter that every process polls to reload its index.
import { appendAudit } from '../../audit/log';
import type { Queryable, Sql, Tx } from '../../db/client';
import { ValidationError } from '../../lib/errors';
import { AddressIndex, diff, entryKey } from './lookup';
import type { AddressKind, ListEntry } from './types';

export type ListSource = 'ofac-sdn' | 'plain' | 'csv';
const LIST_ID_RE = /^[a-z0-9][a-z0-9_.-]{0,63}$/;
const INSERT_BATCH = 1000;

export interface ListImportInput {
  readonly listId: string;
  readonly name: string;
  readonly source: ListSource;
  /** A version label: the SDN's date of issue, a file name… */
  readonly label?: string | undefined;
  readonly entries: Iterable<ListEntry> | AsyncIterable<ListEntry>;
  readonly actor: string;
}

export interface ListImportResult {
  readonly listId: string;
  readonly version: number;
  readonly entryCount: number;
  readonly added: number;
  readonly removed: number;
}

export interface ListSummary {
  readonly id: string;
  readonly name: string;
  readonly source: ListSource;
  readonly version: number;
  readonly versionLabel: string | null;
  readonly importedAt: Date | null;
  readonly entryCount: number;
}

export function checkListId(listId: string): void {
  if (!LIST_ID_RE.test(listId)) {
    throw new ValidationError('invalid list id', [
      { path: 'listId', message: 'lower-case letters, digits, "_", "." or "-", at most 64' },
    ]);
  }
}

async function collect(entries: ListImportInput['entries']): Promise<Map<string, ListEntry>> {
  const byKey = new Map<string, ListEntry>();
  for await (const e of entries as AsyncIterable<ListEntry>) {
    const key = entryKey(e);
    if (!byKey.has(key)) byKey.set(key, e);
  }
  return byKey;
}

// biome-ignore lint/suspicious/noExplicitAny: raw rows from postgres.js
function entryFromRow(r: Record<string, any>): ListEntry {
  const e: ListEntry = { address: r.address, asset: r.asset, kind: r.kind as AddressKind };
  if (r.party_name) e.partyName = r.party_name;
  if (r.programs?.length) e.programs = r.programs;
  if (r.source_id) e.sourceId = r.source_id;
  if (r.reason) e.reason = r.reason;
  return e;
}

/** Imports one list version in one transaction; the audit log records who imported what. */
export async function importList(sql: Sql, input: ListImportInput): Promise<ListImportResult> {
  checkListId(input.listId);
  const fresh = await collect(input.entries);
  return sql.begin(async (tx) => {
    await tx`insert into sanction_lists (id, name, source) values (${input.listId}, ${input.name}, ${input.source})
      on conflict (id) do nothing`;
    const [list] = await tx<{ version: number; source: string }[]>`
      select version, source from sanction_lists where id = ${input.listId} for update`;
    if (list!.source !== input.source) {
      throw new ValidationError('list source mismatch', [
        {
          path: 'source',
          message: `list ${input.listId} was imported from ${list!.source}, not ${input.source}`,
        },
      ]);
    }
    const old = (await tx`select * from sanction_entries where list_id = ${input.listId}`).map(entryFromRow);
    const { added, removed } = diff(old, fresh.values());
    const version = list!.version + 1;
    await tx`delete from sanction_entries where list_id = ${input.listId}`;
    await insertEntries(tx, input.listId, [...fresh.values()]);
    await tx`insert into sanction_list_versions (list_id, version, label, imported_by, entry_count, added_count,
        removed_count)
      values (${input.listId}, ${version}, ${input.label ?? null}, ${input.actor}, ${fresh.size}, ${added.length},
        ${removed.length})`;
    const changes = [
      ...added.map((e) => ({ change: 'added', e })),
      ...removed.map((e) => ({ change: 'removed', e })),
    ];
    for (let i = 0; i < changes.length; i += INSERT_BATCH) {
      const rows = changes.slice(i, i + INSERT_BATCH).map(({ change, e }) => ({
        list_id: input.listId,
        version,
        change,
        address: e.address,
        asset: e.asset,
        party_name: e.partyName ?? null,
      }));
      await tx`insert into sanction_list_changes ${tx(rows)}`;
    }
    await tx`update sanction_lists set name = ${input.name}, version = ${version},
      version_label = ${input.label ?? null}, imported_at = now(), entry_count = ${fresh.size}
      where id = ${input.listId}`;
    await bumpListsVersion(tx);
    await appendAudit(tx, {
      actor: input.actor,
      action: 'aml.list_imported',
      subject: input.listId,
      data: {
        source: input.source,
        version,
        label: input.label ?? null,
        entries: fresh.size,
        added: added.length,
        removed: removed.length,
      },
    });
    return {
      listId: input.listId,
      version,
      entryCount: fresh.size,
      added: added.length,
      removed: removed.length,
    };
  });
}

async function insertEntries(tx: Tx, listId: string, entries: ListEntry[]): Promise<void> {
  for (let i = 0; i < entries.length; i += INSERT_BATCH) {
    const rows = entries.slice(i, i + INSERT_BATCH).map((e) => ({
      list_id: listId,
      address: e.address,
      asset: e.asset,
      kind: e.kind,
      party_name: e.partyName ?? null,
      programs: e.programs ?? [],
      source_id: e.sourceId ?? null,
      reason: e.reason ?? null,
    }));
    await tx`insert into sanction_entries ${tx(rows)}`;
  }
}

export async function bumpListsVersion(q: Queryable): Promise<void> {
  await q`update aml_state set lists_version = lists_version + 1`;
}

/** The counter that moves whenever any list changes. */
export async function listsVersion(q: Queryable): Promise<bigint> {
  const [row] = await q<{ lists_version: bigint }[]>`select lists_version from aml_state`;
  return BigInt(row?.lists_version ?? 0n);
}

/** Builds the in-memory index from every list, a page at a time (keyset, so memory is the index only). */
export async function loadIndex(q: Queryable, pageSize = 20_000): Promise<AddressIndex> {
  const [{ n }] = (await q`select count(*)::int as n from sanction_entries`) as unknown as [{ n: number }];
  const index = new AddressIndex(Math.max(1024, n));
  let after: [string, string, string] | undefined;
  for (;;) {
    const rows = await q`select * from sanction_entries
      ${after ? q`where (list_id, asset, address) > (${after[0]}, ${after[1]}, ${after[2]})` : q``}
      order by list_id, asset, address limit ${pageSize}`;
    for (const r of rows) index.add(entryFromRow(r), r.list_id as string);
    if (rows.length < pageSize) break;
    const last = rows[rows.length - 1]!;
    after = [last.list_id, last.asset, last.address];
  }
  return index;
}

export async function listSummaries(q: Queryable): Promise<ListSummary[]> {
  const rows = await q`select * from sanction_lists order by id`;
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    source: r.source,
    version: r.version,
    versionLabel: r.version_label,
    importedAt: r.imported_at ? new Date(r.imported_at) : null,
    entryCount: r.entry_count,
  }));
}

/** The names of lists, for reasons shown to regulators. */
export async function listNames(q: Queryable): Promise<Map<string, string>> {
  const rows = await q<{ id: string; name: string }[]>`select id, name from sanction_lists`;
  return new Map(rows.map((r) => [r.id, r.name]));
}
