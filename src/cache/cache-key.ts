/**
 * Which stored answer belongs to which request. The key is the record's request key (method,
 * URL, body and the headers an input fills: plan/planner.ts) under a keyed hash with a salt kept
 * in the cache directory. So the run-wide token stays out of it, and a refreshed token still
 * finds yesterday's answers; but a credential that differs per input (a {placeholder} in a
 * secret header, a secret query value in an input URL) changes the key, and one identity's
 * answer is never served to another. The salt keeps a short secret from being guessed from a
 * key by trying candidates.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { link, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PlannedRequest } from '../plan/planner.js';

const SALT_FILE = 'ratefetch-salt';
const SALT = /^[0-9a-f]{64}$/;

/** The cache entry's key for a request: no secret in it, in the clear or as a plain hash. */
export function cacheKey(salt: string, plan: Pick<PlannedRequest, 'key'>): string {
  return `ratefetch/1 ${createHmac('sha256', salt).update(plan.key).digest('hex')}`;
}

/**
 * The directory's salt, made on first use. Written whole under a temporary name and linked into
 * place, so two runs starting on a new directory at once agree on one salt. A damaged salt is
 * replaced: every answer stored under it becomes a miss, never a crash.
 */
export async function readOrCreateSalt(dir: string): Promise<string> {
  const path = join(dir, SALT_FILE);
  for (let tries = 0; tries < 3; tries++) {
    const existing = await readFile(path, 'utf8').then(
      (text) => text.trim(),
      (error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return undefined;
        throw error;
      },
    );
    if (existing !== undefined && SALT.test(existing)) return existing;
    if (existing !== undefined) await rm(path, { force: true });
    const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
    await writeFile(temporary, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
    try {
      await link(temporary, path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    } finally {
      await rm(temporary, { force: true });
    }
  }
  throw new Error(`cannot settle on a salt in ${path}`);
}
