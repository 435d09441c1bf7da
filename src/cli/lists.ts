// `lists import | list`: sanctions lists. `lists import --source ofac-sdn` streams OFAC's
// SDN_ADVANCED.XML (.bz2 or plain) with a progress bar on stderr and bounded memory; `plain` reads a
// per-asset address file (sanctioned_addresses_<ASSET>.txt); `csv` the operator's own list. A
// re-import records a new version with what was added and removed, and every running gateway
// reloads its lists within a second.
import { spawn } from 'node:child_process';
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { PassThrough, type Readable, Transform } from 'node:stream';
import unbzip2 from 'unbzip2-stream';
import { parseCsvList, parsePlainList } from '../aml/lists/csv';
import { mapOfacAsset } from '../aml/lists/normalize';
import { parseSdnAdvanced } from '../aml/lists/ofac';
import { checkListId, importList, type ListSource, listSummaries } from '../aml/lists/store';
import type { ListEntry } from '../aml/lists/types';
import { CliUsageError } from './args';
import { isoOrNone, table } from './output';
import type { CliCommand, CommandContext } from './types';

const SOURCES = ['ofac-sdn', 'plain', 'csv'] as const;

/** Bytes of the file read so far → a fraction; the bar follows the compressed file for .bz2. */
function countingStream(onBytes: (n: number) => void): Transform {
  let total = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      total += chunk.length;
      onBytes(total);
      done(null, chunk);
    },
  });
}

/** The XML of an SDN file (.bz2 through the system's bzip2, else the JS decoder), counting file bytes. */
export function openSdnFile(path: string, onFileBytes: (n: number) => void): Readable {
  const counted = createReadStream(path).pipe(countingStream(onFileBytes));
  if (!path.endsWith('.bz2')) return counted;
  const out = new PassThrough();
  const child = spawn('bzip2', ['-dc'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (s: string) => {
    stderr += s;
  });
  child.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') return out.destroy(err);
    // No bzip2 installed: the pure-JS decoder is slower but needs nothing.
    const bz = unbzip2();
    bz.on('error', (e: Error) => out.destroy(e));
    counted.unpipe(child.stdin);
    counted.pipe(bz).pipe(out);
  });
  child.stdin.on('error', () => {});
  counted.pipe(child.stdin);
  child.stdout.pipe(out, { end: false });
  child.on('close', (code) => {
    if (out.destroyed) return;
    if (code === 0) out.end();
    else if (code !== null)
      out.destroy(new Error(`bzip2 -dc ${path} failed (exit ${code}): ${stderr.trim()}`));
  });
  return out;
}

/** A progress bar: redrawn in place on a terminal, a line per 10 % otherwise (logs, pipes). */
export function progressBar(ctx: CommandContext, totalBytes: number, tty = Boolean(process.stderr.isTTY)) {
  let lastStep = -1;
  let entries = 0;
  const draw = (bytes: number, final = false) => {
    const fraction = totalBytes > 0 ? Math.min(1, bytes / totalBytes) : 1;
    const step = Math.floor(fraction * 10);
    const filled = Math.round(fraction * 30);
    const text =
      `[${'#'.repeat(filled)}${'-'.repeat(30 - filled)}] ${Math.floor(fraction * 100)
        .toString()
        .padStart(3)}% ` +
      `${(bytes / 1048576).toFixed(1)}/${(totalBytes / 1048576).toFixed(1)} MB, ${entries} addresses`;
    if (tty && !ctx.flags.json) {
      process.stderr.write(`\r${text}${final ? '\n' : ''}`);
    } else if (step > lastStep || final) {
      lastStep = step;
      ctx.note(text);
    }
  };
  return {
    update: (bytes: number) => draw(bytes),
    entry: () => {
      entries++;
    },
    done: () => draw(totalBytes, true),
  };
}

function defaults(source: ListSource, asset: string | undefined) {
  switch (source) {
    case 'ofac-sdn':
      return { id: 'ofac-sdn', name: 'OFAC SDN (digital currency addresses)' };
    case 'plain':
      return { id: `ofac-${(asset ?? '').toLowerCase()}`, name: `OFAC ${asset ?? ''} addresses` };
    case 'csv':
      return { id: 'operator', name: "Operator's list" };
  }
}

const importCommand: CliCommand = {
  name: 'lists import',
  summary: 'Import a sanctions list (OFAC SDN_ADVANCED.XML[.bz2], a per-asset address file, or a CSV).',
  flags: {
    source: { kind: 'string', required: true, placeholder: 'ofac-sdn|plain|csv', description: 'the format' },
    file: { kind: 'string', required: true, placeholder: 'PATH', description: 'the file to read' },
    asset: {
      kind: 'string',
      placeholder: 'XBT',
      description: 'the asset of a plain list (OFAC codes such as XBT are mapped)',
    },
    'list-id': {
      kind: 'string',
      placeholder: 'ID',
      description: 'which list to replace (default per source)',
    },
    name: { kind: 'string', placeholder: 'TEXT', description: 'a display name for the list' },
    label: { kind: 'string', placeholder: 'TEXT', description: 'a version label (default: date of issue)' },
  },
  examples: [
    'lists import --source ofac-sdn --file ../shared/data/ofac/sdn_advanced.xml.bz2',
    'lists import --source plain --asset XBT --file sanctioned_addresses_XBT.txt',
    'lists import --source csv --file our-list.csv --list-id operator',
  ],
  fieldFlags: { listId: '--list-id' },
  async run(ctx) {
    const source = ctx.flags.oneOf('source', SOURCES)!;
    const file = ctx.flags.required('file');
    const asset = ctx.flags.string('asset');
    if (source === 'plain' && !asset)
      throw new CliUsageError('--asset is required for a plain list', '--asset');
    if (source !== 'plain' && asset)
      throw new CliUsageError('--asset applies to plain lists only', '--asset');
    let size: number;
    try {
      size = statSync(file).size;
    } catch {
      throw new CliUsageError(`--file: cannot read ${file}`, '--file');
    }
    const d = defaults(source, asset ? mapOfacAsset(asset) : undefined);
    const listId = ctx.flags.string('list-id') ?? d.id;
    checkListId(listId);
    const db = await ctx.db();

    let label = ctx.flags.string('label');
    let entries: Iterable<ListEntry> | AsyncIterable<ListEntry>;
    let bar: ReturnType<typeof progressBar> | undefined;
    if (source === 'ofac-sdn') {
      bar = progressBar(ctx, size);
      const input = openSdnFile(file, bar.update);
      let issued: string | undefined;
      const parsed = parseSdnAdvanced(input, {
        onDateOfIssue: (date) => {
          issued = date;
        },
      });
      const collected: ListEntry[] = [];
      for await (const e of parsed) {
        bar.entry();
        collected.push(e);
      }
      bar.done();
      label ??= issued ? `SDN ${issued}` : basename(file);
      entries = collected;
    } else {
      const text = readFileSync(file, 'utf8');
      entries = source === 'plain' ? parsePlainList(text, asset!) : parseCsvList(text);
      label ??= basename(file);
    }
    const result = await importList(db.sql, {
      listId,
      name: ctx.flags.string('name') ?? d.name,
      source,
      label,
      entries,
      actor: 'cli',
    });
    ctx.print(
      `Imported ${result.entryCount} addresses into ${result.listId} (version ${result.version}, ${label}): ` +
        `${result.added} added, ${result.removed} removed.`,
      { ...result, label },
    );
    return 0;
  },
};

const listCommand: CliCommand = {
  name: 'lists list',
  summary: 'Show the imported sanctions lists with their versions and sizes.',
  flags: {},
  async run(ctx) {
    const db = await ctx.db();
    const lists = await listSummaries(db.sql);
    const json = lists.map((l) => ({ ...l, importedAt: l.importedAt?.toISOString() ?? null }));
    ctx.print(
      lists.length
        ? table(
            ['id', 'source', 'version', 'label', 'entries', 'imported'],
            lists.map((l) => [
              l.id,
              l.source,
              String(l.version),
              l.versionLabel ?? '-',
              String(l.entryCount),
              isoOrNone(l.importedAt),
            ]),
          )
        : 'No lists imported yet.',
      { lists: json },
    );
    return 0;
  },
};

export const listCommands: readonly CliCommand[] = [importCommand, listCommand];
