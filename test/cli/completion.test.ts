// `ratefetch completion bash|zsh|fish` (issue #26): the bash script sourced in a real bash
// completes `--rp<TAB>`; zsh and fish scripts name every option and parse in their shells
// where those are installed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildProgram } from '../../src/cli/program.ts';
import { assertUsageError, runCli, tempDir } from './helpers.ts';

const has = (shell: string) => spawnSync(shell, ['-c', 'exit 0'], { stdio: 'ignore' }).status === 0;

/** What bash offers for `words`, the cursor on the last one, after sourcing `script`. */
function bashCompletes(script: string, words: string[]): string[] {
  const array = words.map((word) => `'${word}'`).join(' ');
  const result = spawnSync(
    'bash',
    ['-c', `source '${script}'; COMP_WORDS=(${array}); COMP_CWORD=${words.length - 1}; _ratefetch; printf '%s\\n' "\${COMPREPLY[@]}"`],
    {
      encoding: 'utf8',
      cwd: join(script, '..'),
    },
  );
  assert.equal(result.status, 0, result.stderr);
  return result.stdout.split('\n').filter(Boolean);
}

test('#26: the bash completion completes --rp<TAB>, the choices of an option, and the commands', async (t) => {
  const dir = tempDir(t);
  const result = await runCli(['completion', 'bash']);
  assert.equal(result.code, 0, result.stderr);
  const script = join(dir, 'ratefetch.bash');
  writeFileSync(script, result.stdout);
  writeFileSync(join(dir, 'urls.txt'), '');
  assert.deepEqual(bashCompletes(script, ['ratefetch', '--rp']), ['--rps', '--rps-max']);
  assert.deepEqual(bashCompletes(script, ['ratefetch', 'urls.txt', '--body-format', 't']), ['text']);
  assert.deepEqual(bashCompletes(script, ['ratefetch', 'wor']), ['worker']);
  assert.deepEqual(bashCompletes(script, ['ratefetch', 'url']), ['urls.txt'], 'an input file as the first word');
  assert.deepEqual(bashCompletes(script, ['ratefetch', '--config', 'ur']), ['urls.txt'], 'a file after an option that takes one');
});

test('#26: the zsh and fish completions name every option, and parse where the shell is installed', async (t) => {
  const dir = tempDir(t);
  const longs = buildProgram()
    .options.map((option) => option.long)
    .filter((long): long is string => long !== undefined);
  for (const shell of ['zsh', 'fish'] as const) {
    const result = await runCli(['completion', shell]);
    assert.equal(result.code, 0, result.stderr);
    for (const long of longs) {
      // zsh: `--rps[…]`, or `{-c,--concurrency}'[…]` for an option with a short alias.
      const named =
        shell === 'fish' ? result.stdout.includes(`-l ${long.slice(2)} `) : result.stdout.includes(`${long}[`) || result.stdout.includes(`${long}}'[`);
      assert.ok(named, `${shell} completes ${long}`);
    }
    if (!has(shell)) {
      t.diagnostic(`${shell} is not installed: its script was not parsed`);
      continue;
    }
    const path = join(dir, `ratefetch.${shell}`);
    writeFileSync(path, result.stdout);
    const parsed = spawnSync(shell, ['-n', path], { encoding: 'utf8' });
    assert.equal(parsed.status, 0, `${shell} -n: ${parsed.stderr}`);
  }
});

test('#26: completion without a shell it knows is a usage error', async () => {
  assertUsageError(await runCli(['completion', 'tcsh']), /bash, zsh or fish/);
  assertUsageError(await runCli(['completion']), /one shell/);
});
