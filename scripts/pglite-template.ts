// postinstall: builds the initialised PGlite data directory a fresh embedded database is copied from
// (src/db/pglite-template.ts), so the first `npm start` does not spend seconds in PGlite's initdb.
// Never fails the install: without it, the first fresh start builds it instead.
import { setFlagsFromString } from 'node:v8';
import { ensurePgliteTemplate, templatePath } from '../src/db/pglite-template';

setFlagsFromString('--liftoff-only'); // as src/db/embedded.ts runs PGlite (its reason is there)
const t0 = performance.now();
const path = templatePath();
ensurePgliteTemplate(path).then(
  (made) => {
    const s = ((performance.now() - t0) / 1000).toFixed(1);
    console.log(
      made
        ? `alatau-pay: embedded database template ready in ${made} (${s} s)`
        : `alatau-pay: no embedded database template (${path ?? 'PGlite not found'}); the first start builds it`,
    );
  },
  () => {},
);
