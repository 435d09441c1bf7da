// Daily volume in tenge as an SVG bar chart drawn on the server (no script, no chart library). Bar
// heights are computed from bigint tiyn, so the money never becomes a float on its way to a pixel.
import { raw } from 'hono/html';
import type { DayVolume } from '../../dashboard/queries';
import { kzt } from './layout';

const W = 720;
const H = 240;
/** Room for the y-axis labels: 7 units per character of an 11px label (digits are about 6.2), and a gap. */
const CHAR_W = 7;
const LABEL_GAP = 6;
const RIGHT = 8;
const TOP = 12;
const BOTTOM = 28;

const esc = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A round axis maximum at or above `max`: 1, 2 or 5 times a power of ten, in whole tenge. */
export function niceCeilTiyn(max: bigint): bigint {
  if (max <= 0n) return 100n;
  let step = 100n;
  for (;;) {
    for (const m of [1n, 2n, 5n]) if (step * m >= max) return step * m;
    step *= 10n;
  }
}

export function volumeChartSvg(days: readonly DayVolume[]): string {
  const plotH = H - TOP - BOTTOM;
  // A reduce, not Math.max: the totals are bigint.
  const top = niceCeilTiyn(days.reduce((m, d) => (d.tiyn > m ? d.tiyn : m), 0n));
  const ticks = [0n, top / 2n, top].map((v) => kzt(v).replace(/\.00$/, ''));
  // The plot starts where the widest label ends: "₸10,000,000" must not be cut at the edge.
  const LEFT = LABEL_GAP * 2 + CHAR_W * Math.max(...ticks.map((t) => t.length));
  const plotW = W - LEFT - RIGHT;
  const slot = plotW / Math.max(days.length, 1);
  const barW = Math.max(2, Math.floor(slot * 0.7));
  const total = days.reduce((s, d) => s + d.tiyn, 0n);
  const parts: string[] = [];
  parts.push(
    `<svg class="chart" id="volume-chart" viewBox="0 0 ${W} ${H}" role="img" ` +
      'aria-labelledby="chart-title chart-desc" xmlns="http://www.w3.org/2000/svg">',
    `<title id="chart-title">Daily volume in tenge, last ${days.length} days</title>`,
    `<desc id="chart-desc">${esc(`${kzt(total)} received in ${days.length} days`)}</desc>`,
  );
  // Grid lines and labels at 0, half and the top.
  for (const [i, label] of ticks.entries()) {
    const y = TOP + plotH - (i * plotH) / 2;
    parts.push(
      `<line class="axis" x1="${LEFT}" x2="${W - RIGHT}" y1="${y}" y2="${y}" opacity="${i ? 0.35 : 1}"/>`,
    );
    parts.push(`<text x="${LEFT - LABEL_GAP}" y="${y + 4}" text-anchor="end">${esc(label)}</text>`);
  }
  days.forEach((d, i) => {
    const h = Number((d.tiyn * BigInt(plotH)) / top);
    const x = Math.round(LEFT + i * slot + (slot - barW) / 2);
    const y = TOP + plotH - h;
    const label = `${d.day}: ${kzt(d.tiyn)} (${d.payments} payment${d.payments === 1 ? '' : 's'})`;
    parts.push(
      `<rect class="bar" x="${x}" y="${y}" width="${barW}" height="${h}" data-day="${d.day}" ` +
        `data-tiyn="${d.tiyn}"><title>${esc(label)}</title></rect>`,
    );
    if (i % 7 === days.length % 7 || i === days.length - 1) {
      parts.push(
        `<text x="${Math.round(LEFT + i * slot + slot / 2)}" y="${H - 8}" text-anchor="middle">` +
          `${d.day.slice(8)}.${d.day.slice(5, 7)}</text>`,
      );
    }
  });
  parts.push('</svg>');
  return parts.join('');
}

export function VolumeChart({ days }: { days: readonly DayVolume[] }) {
  return (
    <figure>
      {raw(volumeChartSvg(days))}
      <details>
        <summary>The same figures as a table</summary>
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th>Day</th>
                <th class="num">Received</th>
                <th class="num">Payments</th>
              </tr>
            </thead>
            <tbody>
              {days
                .filter((d) => d.payments > 0)
                .map((d) => (
                  <tr>
                    <td>{d.day}</td>
                    <td class="num">{kzt(d.tiyn)}</td>
                    <td class="num">{d.payments}</td>
                  </tr>
                ))}
            </tbody>
          </table>
        </div>
      </details>
    </figure>
  );
}
