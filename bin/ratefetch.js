#!/usr/bin/env node
// Thin executable: check Node, load the CLI bundle (scripts/bundle-cli.mjs), exit with its code.
// The floor is package.json's engines.node (undici's own floor); test/cli/package.test.ts holds them equal.
const [major, minor, patch] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && (minor < 18 || (minor === 18 && patch < 1)))) {
  process.stderr.write(`ratefetch needs Node 20.18.1 or newer; this is ${process.version}.\n`);
  process.exit(2);
}
const { runCli } = await import('../dist/cli.bundle.js');
process.exitCode = await runCli(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  signals: process,
});
