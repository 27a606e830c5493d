// Issue #24, start-up: bin/ratefetch.js loads the CLI bundle (`npm run bundle`), and what
// only some runs need stays out of the others: each `await import()` is a chunk of its own, and
// the dependencies behind them load only with them. A module-loading hook in the child lists
// every file it loads: ESM through a loader hook, CommonJS from require.cache at exit.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { assertOneRecordPerLine, parseRecords, runCli, runInPty, cliCommand, hasScript, NO_SCRIPT, startServer, tempDir, writeLines } from './helpers.ts';

/** The chunks of the bundle that a plain run must not load, by the module each starts from. */
const LAZY_CHUNKS = ['progress-tty', 'csv', 'schema', 'response-cache', 'coordinator', 'run-settings', 'redis-commands', 'report-command'];
/** Dependencies that only some runs need. */
const LAZY_PACKAGES = ['cli-progress', 'csv-parse', 'ajv', 'cacache', 'http-cache-semantics', 'p-queue', 'ioredis', 'bullmq', 'uplot'];

interface Loaded {
  /** Bundle files by name (`cli.bundle.csv-AB12CD34.js`). */
  bundleFiles: string[];
  /** Packages with at least one file loaded, by name. */
  packages: Set<string>;
  /** Files of dist/ that are not the bundle's: tsc's modules. */
  unbundled: string[];
}

/** NODE_OPTIONS that make the child write each module it loads to `log`, one path a line. */
function listModules(t: TestContext): { env: Record<string, string>; read: () => Loaded } {
  const dir = tempDir(t);
  const log = join(dir, 'modules.log');
  writeFileSync(log, '');
  const hooks = join(dir, 'hooks.mjs');
  writeFileSync(
    hooks,
    `import { appendFileSync } from 'node:fs';\n` +
      `export async function load(url, context, next) {\n` +
      `  if (url.startsWith('file:')) appendFileSync(${JSON.stringify(log)}, new URL(url).pathname + '\\n');\n` +
      `  return next(url, context);\n}\n`,
  );
  const register = join(dir, 'register.mjs');
  writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
  const commonjs = join(dir, 'commonjs.cjs');
  writeFileSync(
    commonjs,
    `process.on('exit', () => require('node:fs').appendFileSync(${JSON.stringify(log)}, Object.keys(require.cache).join('\\n') + '\\n'));\n`,
  );
  const read = (): Loaded => {
    const paths = readFileSync(log, 'utf8').split('\n').filter(Boolean);
    const bundleFiles = paths.map((path) => /\/dist\/(cli\.bundle[^/]*\.js)$/.exec(path)?.[1]).filter((name) => name !== undefined);
    const packages = new Set(paths.map((path) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(path)?.[1]).filter((name) => name !== undefined));
    const unbundled = paths.filter((path) => path.includes('/dist/') && !/\/dist\/cli\.bundle[^/]*\.js$/.test(path));
    return { bundleFiles, packages, unbundled };
  };
  return { env: { NODE_OPTIONS: `--require=${commonjs} --import=${pathToFileURL(register).href}` }, read };
}

const lazyChunksIn = (files: string[]) => LAZY_CHUNKS.filter((name) => files.some((file) => file.startsWith(`cli.bundle.${name}-`)));
const lazyPackagesIn = (packages: Set<string>) => LAZY_PACKAGES.filter((name) => packages.has(name));

test('#24: a plain run loads the bundle and undici, none of the lazy chunks or the dependencies behind them', async (t) => {
  const server = await startServer(t);
  const modules = listModules(t);
  const input = writeLines(tempDir(t), 'urls.txt', [`${server.url}/ok`, `${server.url}/items/1`]);
  const result = await runCli([input, '-q'], { env: modules.env });
  assert.equal(result.code, 0, result.stderr);
  assertOneRecordPerLine(parseRecords(result.stdout), [1, 2]);
  const loaded = modules.read();
  assert.ok(loaded.bundleFiles.includes('cli.bundle.js'), `the bundle ran: ${loaded.bundleFiles.join(', ')}`);
  assert.ok(loaded.packages.has('undici'), 'the hook sees CommonJS packages too');
  assert.deepEqual(lazyChunksIn(loaded.bundleFiles), []);
  assert.deepEqual(lazyPackagesIn(loaded.packages), []);
  // None of tsc's modules: ours load from the bundle alone.
  assert.deepEqual(loaded.unbundled, []);
});

test('#24: --version loads no undici', async (t) => {
  const modules = listModules(t);
  const result = await runCli(['--version'], { env: modules.env });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(modules.read().packages.has('undici'), false);
});

test('#24: the lazy parts load when a run needs them: a CSV input, a JSON schema check', async (t) => {
  const server = await startServer(t);
  const modules = listModules(t);
  const dir = tempDir(t);
  const input = writeLines(dir, 'ids.csv', ['id', '1', '2']);
  const schema = join(dir, 'schema.json');
  writeFileSync(schema, JSON.stringify({ type: 'object' }));
  const result = await runCli([input, '-t', `${server.url}/items/{id}`, '--schema', schema, '-q'], { env: modules.env });
  assert.equal(result.code, 0, result.stderr);
  assertOneRecordPerLine(parseRecords(result.stdout), [2, 3]);
  const loaded = modules.read();
  assert.deepEqual(lazyChunksIn(loaded.bundleFiles), ['csv', 'schema']);
  assert.deepEqual(lazyPackagesIn(loaded.packages), ['csv-parse', 'ajv']);
});

test('#24: the progress bar loads cli-progress, on a terminal only', async (t) => {
  if (!hasScript()) return t.skip(NO_SCRIPT);
  const server = await startServer(t);
  const modules = listModules(t);
  const input = writeLines(tempDir(t), 'urls.txt', [`${server.url}/ok`]);
  const result = await runInPty(`${cliCommand([input, '-o', '/dev/null'])}`, { env: modules.env });
  assert.equal(result.code, 0, result.stderr);
  const loaded = modules.read();
  assert.deepEqual(lazyChunksIn(loaded.bundleFiles), ['progress-tty']);
  assert.deepEqual(lazyPackagesIn(loaded.packages), ['cli-progress']);
});
