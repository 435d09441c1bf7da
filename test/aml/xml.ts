// A small XML check for the tests: decodes UTF-16 (with its BOM), parses with saxes (well-formed or
// throws), and collects each element's path and text.
import { SaxesParser } from 'saxes';

export interface ParsedXml {
  /** `ExportData/SignedData/Sender` → texts, in document order. */
  readonly texts: Map<string, string[]>;
  readonly paths: Set<string>;
  readonly declaration: string;
}

export function decodeUtf16Bom(bytes: Uint8Array): string {
  if (bytes[0] !== 0xff || bytes[1] !== 0xfe) throw new Error('no UTF-16LE byte-order mark');
  return new TextDecoder('utf-16le').decode(bytes.subarray(2));
}

export function parseXml(text: string): ParsedXml {
  const parser = new SaxesParser();
  const stack: string[] = [];
  const texts = new Map<string, string[]>();
  const paths = new Set<string>();
  let current = '';
  let declaration = '';
  parser.on('xmldecl', (d) => {
    declaration = `${d.version ?? ''} ${d.encoding ?? ''}`.trim();
  });
  parser.on('opentag', (t) => {
    stack.push(t.name);
    paths.add(stack.join('/'));
    current = '';
  });
  parser.on('text', (t) => {
    current += t;
  });
  parser.on('closetag', () => {
    const path = stack.join('/');
    const value = current.trim();
    if (value) texts.set(path, [...(texts.get(path) ?? []), value]);
    current = '';
    stack.pop();
  });
  parser.on('error', (e) => {
    throw e;
  });
  parser.write(text).close();
  return { texts, paths, declaration };
}
