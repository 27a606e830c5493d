/**
 * The save directory of --save: made at the start, each file's directories made as needed and
 * checked to stay inside it (real paths, so a symbolic link out is caught), each accepted body
 * handed to a BodyFile, and what a killed run left: stale temporary files, and whole files whose
 * record was never written.
 */
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { lstat, opendir, realpath, rm } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { OutputError, describeErrno } from '../errors.js';
import { makeDirectory } from '../make-directory.js';
import type { SaveBody } from '../http/body-sink.js';
import type { SavedBody } from '../http/outcome.js';
import type { ErrorCode } from '../record/error-codes.js';
import { BodyFile, TEMP_NAME } from './body-file.js';

/** Why an input's file cannot be written: its record says so, and nothing is sent. */
export interface SaveRefusal {
  code: Extract<ErrorCode, 'SAVE_PATH_REFUSED' | 'SAVE_FAILED'>;
  what: string;
  final: boolean;
}

export class SaveDir {
  readonly #cwd: string;
  readonly #root: string;
  readonly #maxBytes: number;
  readonly #accepts: (status: number) => boolean;
  #realRoot: string | undefined;
  /**
   * Each directory's check, made once and shared: most files share a directory, a check costs
   * four calls to the disk, and read-ahead asks for hundreds of files at once. A check that
   * failed is forgotten, so a later file tries again.
   */
  readonly #checks = new Map<string, Promise<DirCheck>>();

  /** `dir` as the template wrote it (`covers/`, or `` for the working directory); `accepts` says which statuses are saved. */
  constructor(settings: { dir: string; maxBytes: number; accepts: (status: number) => boolean; cwd?: string }) {
    this.#cwd = settings.cwd ?? process.cwd();
    this.#root = resolve(this.#cwd, settings.dir);
    this.#maxBytes = settings.maxBytes;
    this.#accepts = settings.accepts;
  }

  /** Makes the save directory, before anything is fetched; a directory that cannot be made stops the run (exit 74). */
  async open(): Promise<void> {
    try {
      await makeDirectory(this.#root);
      this.#realRoot = await realpath(this.#root);
    } catch (error) {
      throw new OutputError(`cannot make the --save directory ${this.#root}: ${describeErrno(error as NodeJS.ErrnoException)}`);
    }
  }

  /**
   * Makes the directories `path` needs, unless they would lead out of the save directory.
   * Undefined when the file can be written.
   */
  async prepare(path: string): Promise<SaveRefusal | undefined> {
    const file = resolve(this.#cwd, path);
    const realRoot = this.#realRoot ?? (await this.#openedRoot());
    if (!isInside(file, this.#root)) return { code: 'SAVE_PATH_REFUSED', what: `--save path refused: ${path} is outside the save directory`, final: true };
    const parent = dirname(file);
    let check = this.#checks.get(parent);
    if (check === undefined) {
      check = checkDir(parent, realRoot);
      this.#checks.set(parent, check);
    }
    const result = await check;
    if (result === 'ok') return undefined;
    this.#checks.delete(parent);
    if (result === 'linked out') {
      return { code: 'SAVE_PATH_REFUSED', what: `--save path refused: ${path} leads out of the save directory through a symbolic link`, final: true };
    }
    return { code: 'SAVE_FAILED', what: `cannot make the directory of ${path}: ${describeErrno(result)}`, final: false };
  }

  /** One attempt's way to the file at `path` (already prepared). */
  bodyFor(path: string): SaveBody {
    const target = { file: resolve(this.#cwd, path), shown: path, maxBytes: this.#maxBytes };
    return { accepts: this.#accepts, open: (head, events) => new BodyFile(target, head, events) };
  }

  /** The file already at `path`, whole (only a finished body is ever renamed there), hashed; undefined when there is none. */
  async found(path: string): Promise<SavedBody | undefined> {
    const file = resolve(this.#cwd, path);
    const stats = await lstat(file).catch(() => undefined);
    if (stats === undefined || !stats.isFile()) return undefined;
    const hash = createHash('sha256');
    // A file that cannot be read is fetched again instead: the rename replaces it.
    const read = await pipeline(createReadStream(file), hash).then(
      () => true,
      () => false,
    );
    return read ? { path, bytes: stats.size, sha256: hash.digest('hex') } : undefined;
  }

  /**
   * Removes the temporary files that processes no longer running left under the save
   * directory (a kill mid-download), and says how many. Links are not followed.
   */
  async removeStaleTemps(): Promise<number> {
    let removed = 0;
    const dirs = [this.#root];
    for (let dir = dirs.pop(); dir !== undefined; dir = dirs.pop()) {
      const entries = await opendir(dir).catch(() => undefined);
      if (entries === undefined) continue;
      for await (const entry of entries) {
        if (entry.isDirectory()) dirs.push(join(dir, entry.name));
        else if (entry.isFile() && isStale(entry.name)) {
          await rm(join(dir, entry.name), { force: true });
          removed += 1;
        }
      }
    }
    return removed;
  }

  async #openedRoot(): Promise<string> {
    await this.open();
    return this.#realRoot!;
  }
}

type DirCheck = 'ok' | 'linked out' | NodeJS.ErrnoException;

/** Makes `dir` unless it would lead out of `realRoot`: checked before mkdir, which would otherwise follow a link and make directories outside. */
async function checkDir(dir: string, realRoot: string): Promise<DirCheck> {
  try {
    if (!isInside(await realpath(await deepestExisting(dir)), realRoot)) return 'linked out';
    await makeDirectory(dir);
    return isInside(await realpath(dir), realRoot) ? 'ok' : 'linked out';
  } catch (error) {
    return error as NodeJS.ErrnoException;
  }
}

function isInside(path: string, root: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

/** `path`, or its nearest ancestor that exists. */
async function deepestExisting(path: string): Promise<string> {
  for (let at = path; ; at = dirname(at)) {
    const exists = await lstat(at).then(
      () => true,
      (error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return false;
        throw error;
      },
    );
    if (exists || dirname(at) === at) return at;
  }
}

/** A temporary file of ours whose process is gone (our own, in flight, are never stale). */
function isStale(name: string): boolean {
  const pid = TEMP_NAME.exec(name)?.[1];
  if (pid === undefined) return false;
  return Number(pid) !== process.pid && !isRunning(Number(pid));
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A process killed a moment ago answers until its parent reaps it; Linux says so (state Z).
  try {
    return !/^\d+ \(.*\) Z/s.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}
