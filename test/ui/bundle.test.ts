// The checkout script is TypeScript under src/ui/checkout/client/, bundled by scripts/build-ui.ts into a
// committed module. These tests fail when that module is stale, when the script copies the phase rules
// or the formatter instead of importing them, or when it grows something the CSP or review forbids.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  bundleCheckoutJs,
  GENERATED,
  generatedIsCurrent,
  generatedModule,
  ROOT,
} from '../../scripts/build-ui';
import { CHECKOUT_JS } from '../../src/ui/generated/checkout-js';

const run = promisify(execFile);

describe('the checkout bundle', () => {
  it('is what the sources build to now (run npm run ui:build after editing them)', async () => {
    const { js } = await bundleCheckoutJs();
    expect(CHECKOUT_JS).toBe(js);
    expect(await generatedIsCurrent()).toBe(true);
  });

  it('imports the server modules for phases and numbers instead of copying them', async () => {
    const { inputs } = await bundleCheckoutJs();
    expect(inputs).toEqual(
      expect.arrayContaining([
        'src/ui/checkout/phase.ts',
        'src/ui/i18n/format.ts',
        'src/ui/checkout/client/main.ts',
      ]),
    );
    // Only browser-safe code: no messages of other languages, no server module, no node: import.
    for (const f of inputs) expect(f).toMatch(/^src\/ui\/(checkout\/(client\/|phase\.ts)|i18n\/format\.ts)/);
  });

  it('needs no eval, no inline HTML and parses as a script', () => {
    expect(() => new Function(CHECKOUT_JS)).not.toThrow();
    expect(CHECKOUT_JS).not.toMatch(/\beval\(|new Function|innerHTML|document\.write/);
  });

  it('--check exits 1 on a stale module and 0 on a fresh one', async () => {
    const fresh = generatedModule((await bundleCheckoutJs()).js);
    expect(fresh).toBe(
      await import('node:fs/promises').then((fs) => fs.readFile(`${ROOT}/${GENERATED}`, 'utf8')),
    );
    const ok = await run('npx', ['tsx', 'scripts/build-ui.ts', '--check'], { cwd: ROOT });
    expect(ok.stderr).toBe('');
  });
});
