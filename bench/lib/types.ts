// What a benchmark reports. A bench may print several rows (a rate and its latencies, say); each row
// has its figure, what it was measured beside (the baseline of the same run), their ratio and a goal.

export interface BenchRow {
  /** Shown in the table's first column, e.g. `invoices: create/s @32`. */
  readonly name: string;
  /** Our figure, with its unit: `1,234/s`, `0.8 µs`. */
  readonly figure: string;
  /** The baseline measured in the same run, with its unit; omitted when the goal is absolute. */
  readonly baseline?: string;
  /** ours / baseline, when a ratio is the point. */
  readonly ratio?: number;
  /** The goal in words: `ratio ≥ 0.5`, `p99 < 1 ms`; omitted for information-only rows. */
  readonly goal?: string;
  /** Whether the goal is met; undefined for information-only rows. */
  readonly pass?: boolean;
}

export interface BenchOutcome {
  readonly rows: readonly BenchRow[];
  /** Everything measured, for results.json (plain JSON: numbers, strings, arrays, objects). */
  readonly details: unknown;
  /** Caveats worth printing under the table (e.g. "embedded PGlite: no PostgreSQL was reachable"). */
  readonly notes?: readonly string[];
}

/** The benchmarks SPEC.md section 9 asks for; every one must be covered by some registered bench. */
export const SPEC_BENCHMARKS = {
  invoices: 'Invoice creation at 32 clients beside a bare one-INSERT Hono route',
  detection: 'Detection: broadcast (and block) → invoice state change and webhook arrival',
  scan: 'Scan: one block of 4,000 transactions against 100,000 watched addresses',
  derivation: 'Address derivation beside bip32 + tiny-secp256k1',
  screening: 'Screening: per-payment latency with 1,000,000 listed addresses',
  webhooks: 'Webhooks: deliveries/s to a local receiver that fails a share of requests',
  workers: 'Workers: invoice create, read and checkout page latency through wrangler dev beside Node',
  fairness:
    "Fairness: one merchant's detection and webhook latency while another's 16 endpoints never answer",
  start: 'Start: seconds from npm start to /readyz on a fresh DATA_DIR (chains included) and a warm one',
} as const;
export type SpecBenchmark = keyof typeof SPEC_BENCHMARKS;

export interface Bench {
  /** Selects it on the command line: `npm run bench -- invoices`. */
  readonly name: string;
  readonly description: string;
  /** The SPEC section 9 item it measures (absent for extras such as the SDN import). */
  readonly spec?: SpecBenchmark;
  run(): Promise<BenchOutcome>;
}
