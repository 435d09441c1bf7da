// The documentation that is generated or executed: the configuration page matches src/config.ts, and the
// README's front door keeps its shape (two set-up commands, a first paid invoice in four).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIG_DOC, configurationPage, ROOT, settingNames } from '../scripts/config-docs';
import { readmeCommands } from './helpers/readme';

describe('docs', () => {
  it('docs/operator/configuration.md is what src/config.ts generates (npm run docs:config)', () => {
    expect(readFileSync(path.join(ROOT, CONFIG_DOC), 'utf8')).toBe(configurationPage());
    // Every setting the schema reads is on the page.
    const page = configurationPage();
    for (const name of settingNames()) expect(page).toContain(`\`${name}\``);
  });

  it('the README sets up in two commands and reaches a paid invoice in four', () => {
    expect(readmeCommands('Set-up (a fresh machine, Node ≥ 20.19)')).toEqual(['npm install\nnpm start']);
    const steps = readmeCommands('A first paid invoice');
    expect(steps).toHaveLength(4);
    expect(steps[0]).toMatch(/^ID=\$\(curl .*\/v1\/invoices/);
    expect(steps[2]).toBe('npm run sandbox:pay -- $ID');
    // No second terminal running the sandbox: npm start is the whole sandbox.
    expect(readFileSync(path.join(ROOT, 'README.md'), 'utf8')).not.toMatch(/npm run sandbox(?!:)/);
  });

  it('every relative link of README.md and docs/ points at a file that exists', () => {
    const files = [
      'README.md',
      'docs/merchant/README.md',
      'docs/operator/README.md',
      'docs/regulator/README.md',
      'docs/contributing/README.md',
    ];
    for (const f of files) {
      const text = readFileSync(path.join(ROOT, f), 'utf8');
      for (const m of text.matchAll(/\]\(([^)#\s]+)\)/g)) {
        const target = m[1]!;
        if (/^https?:/.test(target)) continue;
        expect(
          () => readFileSync(path.resolve(ROOT, path.dirname(f), target)),
          `${f} → ${target}`,
        ).not.toThrow();
      }
    }
  });
});
