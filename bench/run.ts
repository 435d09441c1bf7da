// `npm run bench [-- name …]`: runs the registered benches (bench/lib/registry.ts) one after another,
// prints one table and writes bench/results.json. A bench that throws is reported and the rest run.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describeMachine, finishMachineInfo, type MachineInfo, machineInfo } from './lib/machine';
import { BENCHES, uncoveredSpecBenchmarks } from './lib/registry';
import { renderTable } from './lib/table';
import { type Bench, type BenchRow, SPEC_BENCHMARKS } from './lib/types';

const RESULTS = fileURLToPath(new URL('./results.json', import.meta.url));

interface BenchRecord {
  readonly at: string;
  readonly durationSeconds: number;
  readonly rows: readonly BenchRow[];
  readonly notes: readonly string[];
  readonly details?: unknown;
  readonly error?: string;
}

interface ResultsFile {
  readonly machine: MachineInfo;
  /** The last full or partial run's table, as printed. */
  readonly table?: string;
  readonly benches: Record<string, BenchRecord>;
}

export function selectBenches(all: readonly Bench[], names: readonly string[]): Bench[] {
  if (names.length === 0) return [...all];
  const unknown = names.filter((n) => !all.some((b) => b.name === n || b.name.startsWith(`${n}-`)));
  if (unknown.length) {
    throw new Error(`unknown bench ${unknown.join(', ')}; available: ${all.map((b) => b.name).join(', ')}`);
  }
  return all.filter((b) => names.some((n) => b.name === n || b.name.startsWith(`${n}-`)));
}

async function main(argv: readonly string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('--list')) {
    console.log('Usage: npm run bench [-- NAME …]   (env BENCH_SECONDS sets the invoice bench length)\n');
    for (const b of BENCHES) console.log(`  ${b.name.padEnd(15)} ${b.description}`);
    return 0;
  }
  let selected: Bench[];
  try {
    selected = selectBenches(
      BENCHES,
      argv.filter((a) => !a.startsWith('-')),
    );
  } catch (err) {
    console.error((err as Error).message);
    return 2;
  }
  const missing = uncoveredSpecBenchmarks(BENCHES);
  if (missing.length) {
    console.error(
      `SPEC section 9 benchmarks without a bench: ${missing.map((k) => SPEC_BENCHMARKS[k]).join('; ')}`,
    );
    return 2;
  }
  const started = machineInfo();
  const records: Record<string, BenchRecord> = {};
  const rows: BenchRow[] = [];
  const notes: string[] = [];
  let failed = 0;
  for (const bench of selected) {
    process.stderr.write(`running ${bench.name}: ${bench.description} …\n`);
    const start = performance.now();
    const at = new Date().toISOString();
    try {
      const out = await bench.run();
      const durationSeconds = Math.round((performance.now() - start) / 100) / 10;
      rows.push(...out.rows);
      notes.push(...(out.notes ?? []));
      records[bench.name] = {
        at,
        durationSeconds,
        rows: out.rows,
        notes: out.notes ?? [],
        details: out.details,
      };
    } catch (err) {
      failed++;
      const message = err instanceof Error ? err.message : String(err);
      const durationSeconds = Math.round((performance.now() - start) / 100) / 10;
      const row: BenchRow = { name: bench.name, figure: 'error', goal: 'runs', pass: false };
      rows.push(row);
      notes.push(`${bench.name} failed: ${message}`);
      records[bench.name] = { at, durationSeconds, rows: [row], notes: [], error: message };
      if (process.env.DEBUG && err instanceof Error) console.error(err.stack);
    }
  }

  const machine = finishMachineInfo(started);
  const table = renderTable(rows);
  console.log(`\nalatau-pay benchmarks, ${machine.date.slice(0, 10)}: ${describeMachine(machine)}\n`);
  console.log(table);
  for (const n of notes) console.log(`  · ${n}`);
  const goals = rows.filter((r) => r.pass !== undefined);
  console.log(`\n${goals.filter((r) => r.pass).length} of ${goals.length} goals met.`);

  // A subset run keeps the other benches' last records (each carries its own date).
  let previous: Record<string, BenchRecord> = {};
  if (selected.length < BENCHES.length && existsSync(RESULTS)) {
    try {
      previous = (JSON.parse(readFileSync(RESULTS, 'utf8')) as ResultsFile).benches ?? {};
    } catch {}
  }
  const file: ResultsFile = { machine, table, benches: { ...previous, ...records } };
  writeFileSync(
    RESULTS,
    `${JSON.stringify(file, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`,
  );
  console.log(`Written to ${RESULTS}.`);
  return failed ? 1 : 0;
}

let finished = false;
// A bench whose promise never settles would otherwise end the process without a word.
process.on('exit', (code) => {
  if (!finished)
    console.error(`bench: stopped before the benches finished (exit ${code}); a promise never settled`);
});
process.exitCode = await main(process.argv.slice(2));
finished = true;
