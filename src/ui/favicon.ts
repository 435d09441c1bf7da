// The icon, twice: an SVG for pages that link it, and /favicon.ico for what asks the root (browsers on
// a JSON or docs page, bookmarks, feed readers). The ICO is drawn here as a 32×32 bitmap of the same
// picture, so there is no binary file to keep in step and Workers need no file system.

// A mountain under a sun: Alatau. Drawn by hand, 32×32.
export const FAVICON_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">' +
  '<rect width="32" height="32" rx="7" fill="#0b5cad"/>' +
  '<circle cx="22" cy="10" r="4" fill="#f0a000"/><path d="M3 26 12 12l5 7 3-4 9 11z" fill="#fff"/></svg>';

type Rgba = readonly [number, number, number, number];
const BLUE: Rgba = [0x0b, 0x5c, 0xad, 255];
const SUN: Rgba = [0xf0, 0xa0, 0x00, 255];
const WHITE: Rgba = [255, 255, 255, 255];
const CLEAR: Rgba = [0, 0, 0, 0];

/** Whether (x, y) is inside the triangle a-b-c (same sign of every edge's cross product). */
function inTriangle(x: number, y: number, a: number[], b: number[], c: number[]): boolean {
  const s = (p: number[], q: number[]) => (q[0]! - p[0]!) * (y - p[1]!) - (q[1]! - p[1]!) * (x - p[0]!);
  const d1 = s(a, b);
  const d2 = s(b, c);
  const d3 = s(c, a);
  return !((d1 < 0 || d2 < 0 || d3 < 0) && (d1 > 0 || d2 > 0 || d3 > 0));
}

function pixel(x: number, y: number): Rgba {
  const cx = x + 0.5;
  const cy = y + 0.5;
  // Rounded corners of radius 7.
  const rx = Math.max(7 - cx, 0, cx - 25);
  const ry = Math.max(7 - cy, 0, cy - 25);
  if (rx * rx + ry * ry > 49) return CLEAR;
  if ((cx - 22) ** 2 + (cy - 10) ** 2 <= 16) return SUN;
  // The path M3 26 12 12 l5 7 3-4 9 11 z: two peaks over one base.
  if (inTriangle(cx, cy, [3, 26], [12, 12], [21, 26]) || inTriangle(cx, cy, [14, 26], [20, 15], [29, 26])) {
    return WHITE;
  }
  return BLUE;
}

/** A one-image ICO: 32×32, 32-bit BGRA DIB (bottom-up) and its AND mask. */
export function faviconIco(): Uint8Array {
  const size = 32;
  const pixels = size * size * 4;
  const mask = size * 4; // one bit per pixel, rows padded to 32 bits
  const image = 40 + pixels + mask;
  const out = new Uint8Array(6 + 16 + image);
  const v = new DataView(out.buffer);
  v.setUint16(2, 1, true); // type: icon
  v.setUint16(4, 1, true); // one image
  v.setUint8(6, size);
  v.setUint8(7, size);
  v.setUint16(10, 1, true); // planes
  v.setUint16(12, 32, true); // bits per pixel
  v.setUint32(14, image, true);
  v.setUint32(18, 22, true); // offset of the image
  const h = 22;
  v.setUint32(h, 40, true); // BITMAPINFOHEADER
  v.setInt32(h + 4, size, true);
  v.setInt32(h + 8, size * 2, true); // XOR bitmap and AND mask
  v.setUint16(h + 12, 1, true);
  v.setUint16(h + 14, 32, true);
  v.setUint32(h + 20, pixels + mask, true);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const [r, g, b, a] = pixel(x, y);
      const at = h + 40 + ((size - 1 - y) * size + x) * 4;
      out[at] = b;
      out[at + 1] = g;
      out[at + 2] = r;
      out[at + 3] = a;
    }
  }
  // The AND mask stays zero: the alpha channel says what is transparent.
  return out;
}
