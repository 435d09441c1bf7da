#!/usr/bin/env node
// After `npm run deploy:dry`: the Worker bundle in .wrangler/dist must stay under its gzip budget and
// must not contain what cannot (or must not) run in workerd. Exits 1 with the reason otherwise.
//
// Budget: 630 KiB gzip = 1.5x the 418.3 KiB measured when this check was written (hono, zod,
// @hono/zod-openapi, postgres.js, @noble/@scure, and ethers through the AML oracle screener), rounded
// up to 10 KiB. The headroom is for the code still to come (EVM adapter, checkout, dashboard and
// regulator UI); a regression that drags in PGlite (megabytes of WASM) or a second copy of a large
// library trips it long before Cloudflare's own limit (3 MiB gzip on the free plan).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';

const BUDGET_KIB = 630;

// Sources that must never reach the Worker: file system access, the embedded database, WASM secp256k1.
const FORBIDDEN_SOURCES = [
  { pattern: /(^|\/)src\/db\/migrate\.ts$/, why: 'migrations read files (node:fs); run them from the CLI' },
  { pattern: /(^|\/)src\/db\/embedded\.ts$/, why: 'the embedded PGlite database is Node only' },
  { pattern: /(^|\/)src\/boot\.ts$/, why: 'Node start-up (embedded database, migrations)' },
  { pattern: /node_modules\/@electric-sql\//, why: 'PGlite is megabytes of WASM and Node only' },
  { pattern: /node_modules\/tiny-secp256k1\//, why: 'its WASM crashes workerd; use @noble/curves' },
];
const FORBIDDEN_IMPORTS = /\b(?:from|import|require)\s*\(?\s*["'](?:node:)?fs(?:\/promises)?["']/;

const KIB = 1024;

function moduleFiles(dir) {
  return readdirSync(dir)
    .filter((f) => !f.endsWith('.map') && f !== 'README.md')
    .map((f) => join(dir, f))
    .filter((p) => statSync(p).isFile())
    .sort();
}

/** Same measure as wrangler's "Total Upload … gzip": every module concatenated, gzip level 6. */
function measure(dir) {
  const files = moduleFiles(dir);
  const contents = files.map((f) => readFileSync(f));
  const all = Buffer.concat(contents);
  return { files, bytes: all.length, gzipBytes: gzipSync(all).length };
}

function findForbidden(dir) {
  const problems = [];
  for (const file of moduleFiles(dir)) {
    if (file.endsWith('.wasm')) problems.push(`${file}: a WASM module in the bundle`);
    if (/\.m?js$/.test(file) && FORBIDDEN_IMPORTS.test(readFileSync(file, 'utf8'))) {
      problems.push(`${file}: imports node:fs`);
    }
    let map;
    try {
      map = JSON.parse(readFileSync(`${file}.map`, 'utf8'));
    } catch {
      continue;
    }
    for (const source of map.sources ?? []) {
      const hit = FORBIDDEN_SOURCES.find((f) => f.pattern.test(source));
      if (hit) problems.push(`${source} is bundled: ${hit.why}`);
    }
  }
  return problems;
}

function main() {
  const dir = resolve(process.argv[2] ?? '.wrangler/dist');
  let result;
  try {
    result = measure(dir);
  } catch (err) {
    console.error(`check-bundle: cannot read ${dir} (run \`npm run deploy:dry\` first): ${err.message}`);
    process.exit(1);
  }
  if (result.files.length === 0) {
    console.error(`check-bundle: no modules in ${dir} (run \`npm run deploy:dry\` first)`);
    process.exit(1);
  }
  const gzipKib = result.gzipBytes / KIB;
  console.log(
    `Worker bundle: ${(result.bytes / KIB).toFixed(2)} KiB, gzip ${gzipKib.toFixed(2)} KiB ` +
      `(budget ${BUDGET_KIB} KiB gzip, ${((gzipKib / BUDGET_KIB) * 100).toFixed(0)}% used)`,
  );
  const problems = findForbidden(dir);
  if (gzipKib > BUDGET_KIB) {
    problems.push(`gzip size ${gzipKib.toFixed(2)} KiB is over the budget of ${BUDGET_KIB} KiB`);
  }
  for (const p of problems) console.error(`check-bundle: ${p}`);
  process.exit(problems.length ? 1 : 0);
}

main();
