// JSON with every number kept as its exact source text. Rate sources such as CoinGecko answer with JSON
// numbers; JSON.parse would turn 97123.456789012345 into the nearest binary float, which is not a rate.

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;

/** Parses JSON like JSON.parse, but each number becomes a string holding its digits as written. */
export function parseJsonExact(text: string): unknown {
  let out = '';
  let copied = 0;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') {
      // Skip the whole string so digits inside it are left alone.
      i++;
      while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
      i++;
    } else if (c === '-' || (c >= '0' && c <= '9')) {
      NUMBER.lastIndex = i;
      const m = NUMBER.exec(text);
      if (!m) throw new SyntaxError(`invalid number at position ${i}`);
      out += `${text.slice(copied, i)}"${m[0]}"`;
      i += m[0].length;
      copied = i;
    } else {
      i++;
    }
  }
  return JSON.parse(out + text.slice(copied));
}
