/**
 * `mkdir -p` that fails rather than hangs. Node 20's recursive mkdir never settles for a path
 * under /proc (it spins a core, measured: `--cache /proc/x` ran for 30 minutes), so the missing
 * directories are made one at a time, from the nearest one that exists; a plain mkdir there
 * fails at once (ENOENT).
 */
import { mkdir, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

export async function makeDirectory(path: string): Promise<void> {
  const missing: string[] = [];
  for (let current = resolve(path); ; current = dirname(current)) {
    const found = await stat(current).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    if (found !== undefined) {
      if (!found.isDirectory()) throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${current}'`), { code: 'ENOTDIR', path: current });
      break;
    }
    missing.push(current);
    if (dirname(current) === current) break;
  }
  for (const directory of missing.reverse()) {
    await mkdir(directory).catch((error: NodeJS.ErrnoException) => {
      // Another process (or a concurrent call) made it first.
      if (error.code !== 'EEXIST') throw error;
    });
  }
}
