// The one table `npm run bench` prints.
import type { BenchRow } from './types';

const HEADER = ['bench', 'figure', 'baseline', 'ratio', 'goal', 'result'] as const;

export function verdict(row: BenchRow): string {
  if (row.pass === undefined) return '';
  return row.pass ? 'pass' : 'FAIL';
}

export function renderTable(rows: readonly BenchRow[]): string {
  const cells = rows.map((r) => [
    r.name,
    r.figure,
    r.baseline ?? '',
    r.ratio === undefined ? '' : r.ratio.toFixed(2),
    r.goal ?? '',
    verdict(r),
  ]);
  const widths = HEADER.map((h, i) => Math.max(h.length, ...cells.map((c) => [...c[i]!].length)));
  // Figures and ratios read best right-aligned.
  const right = new Set([1, 2, 3]);
  const line = (c: readonly string[]) =>
    `| ${c.map((s, i) => (right.has(i) ? s.padStart(widths[i]!) : s.padEnd(widths[i]!))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (right.has(i) ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`;
  return [line(HEADER), rule, ...cells.map(line)].join('\n');
}
