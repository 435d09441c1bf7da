// QR codes drawn on the server as SVG (uqr): no client library, no third-party host. One path of unit
// squares on a viewBox of modules, so the code scales crisply to any size the CSS gives it.
import { encode } from 'uqr';

const escapeAttr = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * An accessible SVG of `text` (a payment URI). Medium error correction survives a scuffed phone
 * screen; the 4-module quiet zone is what the QR specification asks for.
 */
export function qrSvg(text: string, label: string): string {
  const qr = encode(text, { ecc: 'M', border: 4 });
  let d = '';
  for (let y = 0; y < qr.size; y++) {
    const row = qr.data[y]!;
    for (let x = 0; x < qr.size; x++) {
      if (!row[x]) continue;
      // Merge a run of dark modules in a row into one rectangle.
      let run = 1;
      while (x + run < qr.size && row[x + run]) run++;
      d += `M${x} ${y}h${run}v1h-${run}z`;
      x += run - 1;
    }
  }
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${qr.size} ${qr.size}" role="img" ` +
    `aria-label="${escapeAttr(label)}" shape-rendering="crispEdges" class="qr-code">` +
    `<rect width="${qr.size}" height="${qr.size}" fill="#fff"/><path fill="#000" d="${d}"/></svg>`
  );
}
