// The server-drawn QR code: the SVG's dark modules are exactly the encoder's matrix (so a reader
// decodes what uqr encoded), the label is escaped, and the quiet zone is there.
import { encode } from 'uqr';
import { describe, expect, it } from 'vitest';
import { qrSvg } from '../../src/ui/qr';

function modulesOf(svg: string, size: number): boolean[][] {
  const grid = Array.from({ length: size }, () => Array<boolean>(size).fill(false));
  const d = /<path fill="#000" d="([^"]*)"/.exec(svg)![1]!;
  for (const m of d.matchAll(/M(\d+) (\d+)h(\d+)v1h-\3z/g)) {
    const [x, y, w] = [Number(m[1]), Number(m[2]), Number(m[3])];
    for (let i = 0; i < w; i++) {
      expect(grid[y]![x + i], `module ${x + i},${y} drawn twice`).toBe(false);
      grid[y]![x + i] = true;
    }
  }
  return grid;
}

describe('qrSvg', () => {
  const uri = 'ethereum:0x5FbDB2315678afecb367f032d93F642f64180aa3@31337?value=300000000000000';
  it('draws exactly the modules of the encoded URI, with a 4-module quiet zone', () => {
    const qr = encode(uri, { ecc: 'M', border: 4 });
    const svg = qrSvg(uri, 'pay');
    expect(svg).toContain(`viewBox="0 0 ${qr.size} ${qr.size}"`);
    const grid = modulesOf(svg, qr.size);
    expect(grid).toEqual(qr.data);
    for (let i = 0; i < 4; i++) expect(grid[i]!.some(Boolean)).toBe(false);
    // A finder pattern's corner sits just inside the quiet zone.
    expect(grid[4]![4]).toBe(true);
  });
  it('escapes the accessible label', () => {
    const svg = qrSvg(uri, 'QR "code" <for> & you');
    expect(svg).toContain('aria-label="QR &quot;code&quot; &lt;for&gt; &amp; you"');
    expect(svg).toContain('role="img"');
  });
});
