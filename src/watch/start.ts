// Where a watcher with no cursor starts: below the oldest invoice that still takes money (issue 14),
// so a payment made while no watcher ran (the gateway down, or the network new to it) is found.

/**
 * The lowest height in [0, tip] whose block time is at or after `atMs` (tip + 1 when none), by
 * binary search: a few header reads, once per network. Block times are treated as ascending; the
 * callers leave room for chains where they are only roughly so.
 */
export async function firstBlockAtOrAfter(
  atMs: number,
  tip: number,
  timeMs: (height: number) => Promise<number>,
): Promise<number> {
  let lo = 0;
  let hi = tip + 1;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if ((await timeMs(mid)) >= atMs) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
