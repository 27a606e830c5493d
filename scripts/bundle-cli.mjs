/**
 * `npm run build`, second step: the CLI as a few ESM files for bin/ratefetch.js to load
 * (issue #24, start-up). Loading tsc's ~105 modules one by one cost a one-URL run about 40 ms
 * before its request left; docs/performance.md ("Start-up") has the figures.
 *
 * - Flat in dist/, beside tsc's output, so every chunk sits where src/options.ts looks for
 *   package.json (one level up from its own file).
 * - splitting: each `await import()` stays its own chunk, loaded only by the runs that need it
 *   (progress bar, CSV, schema, cache, Redis, `report`); test/cli/startup.test.ts checks.
 * - commander and chalk are bundled in: every run loads them, and as files of their own they
 *   cost a few ms more. Every other dependency stays external: each loads lazily, and bundling
 *   them would only make the package larger. undici is `require`d by src/http/agent.ts through
 *   createRequire, which the bundler leaves alone.
 * - The library entry (dist/index.js and its types) is tsc's alone and is not touched here.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = `${root}dist`;
const PREFIX = 'cli.bundle';
const BUNDLED = new Set(['commander', 'chalk']);

const { dependencies } = JSON.parse(readFileSync(`${root}package.json`, 'utf8'));
const external = Object.keys(dependencies).filter((name) => !BUNDLED.has(name));

// Chunk names carry a hash of their content: an old build's chunks would pile up.
for (const name of readdirSync(dist)) if (name.startsWith(`${PREFIX}.`)) rmSync(`${dist}/${name}`);

await build({
  absWorkingDir: root,
  entryPoints: { [PREFIX]: 'src/cli/main.ts' },
  outdir: dist,
  chunkNames: `${PREFIX}.[name]-[hash]`,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: external.flatMap((name) => [name, `${name}/*`]),
  // Linked maps as tsc writes them (not shipped): `node --enable-source-maps` maps a stack to src/.
  sourcemap: 'linked',
  sourcesContent: false,
  // commander is CommonJS and requires node: modules, which an ESM file can only do through createRequire.
  banner: { js: "import { createRequire as createRequireForBundle } from 'node:module';\nconst require = createRequireForBundle(import.meta.url);" },
  logLevel: 'warning',
});
