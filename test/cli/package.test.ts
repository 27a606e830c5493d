// The package as a user gets it (#26): `npm pack` ships only what runs, the tarball installs with
// `npm install -g --offline` into a temporary prefix from the npm cache, and the installed
// `ratefetch` runs from PATH and through npx against the fixture server. And the Node floor:
// package.json's engines.node is the bin's check, and an older Node gets one sentence.
//
// The pack runs in a copy of the tree (node_modules linked, not copied): `npm pack` runs prepack,
// which deletes dist/, then prepare, which builds it again, and the shared dist/ other test runs
// load must not vanish under them. A clean build is the point: tsc never deletes the output of a
// source that is gone, so a stale dist/ file would otherwise ship.
//
// `npm install` resolves each dependency from its full registry document, which `npm ci` does not
// fetch (it works from the lockfile and fetches at most the abbreviated ones); .ci/run fills the
// cache with one online install of the package. Outside CI a cache without them skips the install
// tests with one line; under CI=true they fail.
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, delimiter, join, relative, sep } from 'node:path';
import { createHash } from 'node:crypto';
import {
  BIN,
  ROOT,
  STACK_LINE,
  assertOneRecordPerLine,
  cleanEnv,
  collectChild,
  parseRecords,
  startServer,
  tempDir,
  writeLines,
  type CliResult,
} from './helpers.ts';

interface PackageJson {
  name: string;
  version: string;
  license: string;
  main: string;
  types: string;
  bin: Record<string, string>;
  exports: Record<string, { types: string; default: string }>;
  engines: { node: string };
}

interface PackResult {
  filename: string;
  size: number;
  unpackedSize: number;
  entryCount: number;
  files: Array<{ path: string; size: number }>;
}

const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as PackageJson;
const UNDER_CI = process.env.CI === 'true';
const NPM_TIMEOUT_MS = 120_000;

/**
 * The environment for npm and the installed binary: cleanEnv(), minus what an enclosing
 * `npm test` sets (npm_config_local_prefix would point `npm pack` back at this tree, npm_config_prefix
 * the global install at /usr), keeping npm_config_cache, and no NODE_PATH to find packages by.
 */
function env(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const result = cleanEnv(extra);
  for (const name of Object.keys(result)) {
    if (/^npm_/i.test(name) && name !== 'npm_config_cache' && !(name in extra)) delete result[name];
  }
  delete result.NODE_PATH;
  return result;
}

/** Runs a command to the end with stdin closed; fails the test if it outlives `timeoutMs`. */
async function run(command: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<CliResult> {
  const child = spawn(command, args, { cwd: opts.cwd, env: opts.env ?? env(), stdio: ['ignore', 'pipe', 'pipe'] });
  const result = await collectChild(child, opts.timeoutMs ?? NPM_TIMEOUT_MS);
  assert.equal(result.timedOut, false, `${command} ${args.join(' ')} did not finish in time\nstderr:\n${result.stderr}`);
  return result;
}

function describeResult(result: CliResult): string {
  return `\nexit ${result.code}\nstdout:\n${result.stdout.slice(0, 2000)}\nstderr:\n${result.stderr.slice(-4000)}`;
}

/** Every file under `dir`, as paths relative to it with `/` separators. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)).split(sep).join('/'));
}

describe('the packed tarball', () => {
  // Not tempDir(t): the directory outlives single tests (the tarball, the install prefix).
  const dir = mkdtempSync(join(tmpdir(), 'ratefetch-package-'));
  const copy = join(dir, 'tree');
  const prefix = join(dir, 'prefix');
  const work = join(dir, 'work');
  let packed: PackResult;
  let tarball: string;
  /** Why the install tests skip, if they do. */
  let noInstall: string | false = false;
  let npxDir: string | undefined;

  before(
    async () => {
      // A package.json of its own, so neither npm (its local prefix) nor Node (a package's
      // self-reference) looks further up: a stray package.json named ratefetch in the temp directory would do.
      mkdirSync(work);
      writeFileSync(join(work, 'package.json'), '{ "name": "ratefetch-package-test", "private": true }\n');
      // The tree as a fresh checkout sees it, plus whatever is being edited, minus what is built or installed.
      const skip = new Set(['node_modules', 'dist', '.git', 'tmp'].map((name) => join(ROOT, name)));
      cpSync(ROOT, copy, { recursive: true, filter: (source) => !skip.has(source) });
      symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'), 'dir');
      // What an earlier build of a source since removed would leave behind: prepack must clear it.
      mkdirSync(join(copy, 'dist'));
      writeFileSync(join(copy, 'dist', 'stale-from-an-old-build.js'), 'export {};\n');
      writeFileSync(join(copy, 'dist', 'cli.bundle.chunk-STALE.js'), 'export {};\n');

      const result = await run('npm', ['pack', '--json', '--pack-destination', dir], { cwd: copy });
      assert.equal(result.code, 0, `npm pack${describeResult(result)}`);
      const parsed = JSON.parse(result.stdout) as PackResult[];
      assert.equal(parsed.length, 1);
      packed = parsed[0]!;
      tarball = join(dir, packed.filename);
      assert.ok(existsSync(tarball), `${tarball} exists`);
    },
    { timeout: NPM_TIMEOUT_MS },
  );

  after(() => {
    rmSync(dir, { recursive: true, force: true });
    // npx installed the tarball into the npm cache's _npx/<hash>; that one is ours alone (its hash is of our temp path).
    if (npxDir) rmSync(npxDir, { recursive: true, force: true });
  });

  test('ships bin/, dist/ (each library source built, the CLI bundle, no map, nothing stale), README, LICENSE and package.json: nothing else', () => {
    const shipped = packed.files.map((f) => f.path).sort();
    // src/cli/ ships only inside the bundle: tsc's dist/cli/ is what no export reaches.
    const sources = filesUnder(join(copy, 'src')).filter((path) => path.endsWith('.ts') && !path.endsWith('.d.ts') && !path.startsWith('cli/'));
    assert.ok(sources.length > 0);
    const built = sources.flatMap((path) => [`dist/${path.replace(/\.ts$/, '.js')}`, `dist/${path.replace(/\.ts$/, '.d.ts')}`]);
    // The CLI bundle (`npm run bundle`): its entry and the chunks of this build, named by their hashes.
    const bundle = filesUnder(join(copy, 'dist'))
      .filter((path) => /^cli\.bundle[^/]*\.js$/.test(path))
      .map((path) => `dist/${path}`);
    assert.ok(bundle.includes('dist/cli.bundle.js'), `the bundle was built: ${bundle.join(', ')}`);
    const bins = filesUnder(join(copy, 'bin')).map((path) => `bin/${path}`);
    assert.deepEqual(shipped, ['LICENSE', 'README.md', 'package.json', ...bins, ...built, ...bundle].sort());
    // The entry points package.json names are all in it.
    const entries = [PKG.main, PKG.types, ...Object.values(PKG.bin), ...Object.values(PKG.exports).flatMap((e) => [e.types, e.default])];
    for (const entry of entries) assert.ok(shipped.includes(entry.replace(/^\.\//, '')), `${entry} is shipped`);
    assert.equal(packed.entryCount, shipped.length);
  });

  test('LICENSE holds the MIT text package.json names', () => {
    assert.equal(PKG.license, 'MIT');
    const text = readFileSync(join(copy, 'LICENSE'), 'utf8');
    assert.match(text, /^MIT License\n\nCopyright \(c\) 2026 the ratefetch authors\n/);
    assert.match(text, /Permission is hereby granted, free of charge, to any person obtaining a copy/);
    assert.match(text, /THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND/);
  });

  test('installs with npm install -g --offline into a temporary prefix', { timeout: NPM_TIMEOUT_MS }, async (t) => {
    const result = await run('npm', ['install', '--global', '--offline', '--no-audit', '--no-fund', '--prefix', prefix, tarball], { cwd: work });
    // Until it is installed, the tests that run it skip rather than fail on a missing binary.
    noInstall = 'npm install -g failed: see that test';
    if (result.code !== 0 && /ENOTCACHED/.test(result.stderr)) {
      const why =
        'the npm cache lacks the full registry documents `npm install -g --offline` resolves with (npm ci fetches at most the abbreviated ones): ' +
        'install the package once online, as .ci/run does, to run the install tests';
      if (UNDER_CI) assert.fail(`${why}${describeResult(result)}`);
      noInstall = why;
      t.skip(why);
      return;
    }
    assert.equal(result.code, 0, `npm install -g${describeResult(result)}`);
    noInstall = false;
    const installed = join(prefix, 'lib', 'node_modules', PKG.name);
    assert.equal(realpathSync(join(prefix, 'bin', 'ratefetch')), realpathSync(join(installed, 'bin', 'ratefetch.js')));
    // The tarball's LICENSE is what got installed.
    assert.equal(readFileSync(join(installed, 'LICENSE'), 'utf8'), readFileSync(join(copy, 'LICENSE'), 'utf8'));
  });

  /** PATH with the prefix's bin/ first, as after `npm install -g` with that prefix. */
  const onPath = () => env({ PATH: `${join(prefix, 'bin')}${delimiter}${process.env.PATH ?? ''}` });

  test('runs as `ratefetch` from PATH: --version, then a list of URLs against the fixture server', async (t) => {
    if (noInstall) return t.skip(noInstall);
    const version = await run('ratefetch', ['--version'], { cwd: work, env: onPath(), timeoutMs: 30_000 });
    assert.equal(version.code, 0, describeResult(version));
    assert.equal(version.stdout, `${PKG.version}\n`);

    const server = await startServer(t);
    const input = writeLines(tempDir(t), 'urls.txt', [`${server.url}/ok`, `${server.url}/items/1`, `${server.url}/text`]);
    const result = await run('ratefetch', [input], { cwd: work, env: onPath(), timeoutMs: 30_000 });
    assert.equal(result.code, 0, describeResult(result));
    const records = parseRecords(result.stdout);
    assertOneRecordPerLine(records, [1, 2, 3]);
    assert.ok(
      records.every((r) => r.ok),
      result.stdout,
    );
  });

  test('its exports load from the installed package: ratefetch and ratefetch/redis', async (t) => {
    if (noInstall) return t.skip(noInstall);
    const project = join(dir, 'project');
    mkdirSync(join(project, 'node_modules'), { recursive: true });
    writeFileSync(join(project, 'package.json'), '{ "name": "ratefetch-exports-test", "private": true }\n');
    symlinkSync(join(prefix, 'lib', 'node_modules', PKG.name), join(project, 'node_modules', PKG.name), 'dir');
    const script = `const names = []; for (const spec of ${JSON.stringify(Object.keys(PKG.exports).map((key) => join(PKG.name, key).split(sep).join('/')))}) names.push(Object.keys(await import(spec)).length); console.log(JSON.stringify(names));`;
    const result = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: project, timeoutMs: 30_000 });
    assert.equal(result.code, 0, describeResult(result));
    const counts = JSON.parse(result.stdout) as number[];
    assert.equal(counts.length, Object.keys(PKG.exports).length);
    assert.ok(
      counts.every((n) => n > 0),
      `each entry exports something: ${result.stdout}`,
    );
  });

  test('runs through npx: the global install by its bin name, and the tarball itself, both offline', { timeout: NPM_TIMEOUT_MS }, async (t) => {
    if (noInstall) return t.skip(noInstall);
    const server = await startServer(t);
    const input = writeLines(tempDir(t), 'urls.txt', [`${server.url}/ok`, `${server.url}/items/2`]);

    // npx finds `ratefetch` in the global prefix's bin/ (cwd's package.json has no bin and no dependencies).
    const global = await run('npx', ['--offline', 'ratefetch', input], { cwd: work, env: env({ npm_config_prefix: prefix }) });
    assert.equal(global.code, 0, describeResult(global));
    assertOneRecordPerLine(parseRecords(global.stdout), [1, 2]);

    // npx installs the tarball into its own cache directory and runs its bin.
    const fromTarball = await run('npx', ['--offline', '--yes', `--package=${tarball}`, '--', 'ratefetch', '--version'], { cwd: work });
    const cache = (await run('npm', ['config', 'get', 'cache'], { cwd: work })).stdout.trim();
    // libnpmexec names the directory by the first 16 hex digits of the sha512 of the package specs.
    const hashed = join(cache, '_npx', createHash('sha512').update(tarball).digest('hex').slice(0, 16));
    if (existsSync(join(hashed, 'package.json')) && readFileSync(join(hashed, 'package.json'), 'utf8').includes(basename(dir))) npxDir = hashed;
    assert.equal(fromTarball.code, 0, describeResult(fromTarball));
    assert.equal(fromTarball.stdout, `${PKG.version}\n`);
  });
});

describe('the Node floor: engines.node in package.json is the check in bin/ratefetch.js', () => {
  const floor = /^>=(\d+)\.(\d+)\.(\d+)$/.exec(PKG.engines.node);
  const [major, minor, patch] = (floor ?? []).slice(1).map(Number) as [number, number, number];
  const floorVersion = `${major}.${minor}.${patch}`;
  // The version just under the floor.
  const justUnder = patch > 0 ? `${major}.${minor}.${patch - 1}` : minor > 0 ? `${major}.${minor - 1}.99` : `${major - 1}.99.99`;

  test('engines.node is one lower bound, ">=X.Y.Z"', () => {
    assert.ok(floor, `engines.node is ${JSON.stringify(PKG.engines.node)}`);
  });

  /** Runs `node --require <preload> bin/ratefetch.js --version` with process.versions.node (and process.version) reporting `version`. */
  async function asIf(t: TestContext, version: string): Promise<CliResult> {
    const preload = join(tempDir(t), 'old-node.cjs');
    writeFileSync(
      preload,
      `Object.defineProperty(process.versions, 'node', { value: ${JSON.stringify(version)}, enumerable: true });\n` +
        `Object.defineProperty(process, 'version', { value: ${JSON.stringify(`v${version}`)}, enumerable: true });\n`,
    );
    return run(process.execPath, ['--require', preload, BIN, '--version'], { cwd: ROOT, timeoutMs: 30_000 });
  }

  for (const version of ['18.19.0', justUnder]) {
    test(`Node ${version} gets exit 2 and one sentence naming ${PKG.engines.node.slice(2)}, nothing on stdout`, async (t) => {
      const result = await asIf(t, version);
      assert.equal(result.code, 2, describeResult(result));
      assert.equal(result.stdout, '');
      assert.doesNotMatch(result.stderr, STACK_LINE);
      const lines = result.stderr.split('\n');
      assert.equal(lines.length, 2, `one line, newline-terminated${describeResult(result)}`);
      assert.equal(lines[1], '');
      const sentence = lines[0]!;
      assert.match(sentence, /^ratefetch needs Node [^.]+\.[^.]+\.[^ ]+ or newer; this is v[^ ]+\.$/);
      assert.ok(sentence.includes(`Node ${floorVersion} or newer`), `names the floor ${floorVersion}: ${sentence}`);
      assert.ok(sentence.includes(`this is v${version}.`), `names the running version: ${sentence}`);
    });
  }

  test(`Node ${floorVersion} exactly runs`, async (t) => {
    const result = await asIf(t, floorVersion);
    assert.equal(result.code, 0, describeResult(result));
    assert.equal(result.stdout, `${PKG.version}\n`);
  });
});
