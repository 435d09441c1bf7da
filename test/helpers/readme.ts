// The README's first-paid-invoice commands, read from README.md itself so the tests that walk them break
// when the README changes.
import { readFileSync } from 'node:fs';
import path from 'node:path';

export const README = path.resolve(import.meta.dirname, '../../README.md');

/** The shell commands of one `## ` section, block by block, in order. */
export function readmeCommands(section: string, text = readFileSync(README, 'utf8')): string[] {
  const start = text.indexOf(`\n## ${section}\n`);
  if (start < 0) throw new Error(`README.md has no "## ${section}" section`);
  const end = text.indexOf('\n## ', start + 4);
  const body = text.slice(start, end < 0 ? undefined : end);
  return [...body.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) =>
    m[1]!
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .join('\n'),
  );
}
