/**
 * --cache: answers kept on disk between runs (issue #28). cacache (npm's content-addressed
 * store) holds the bodies and an index of entries with their metadata; http-cache-semantics
 * decides what may be stored and what is fresh (freshness.ts). The scheduler asks before the
 * start gate, so a fresh answer costs no slot, token, budget or rate evidence.
 *
 * A damaged or unreadable entry is a miss, never a crash: a damaged one is forgotten, and the
 * answer fetched in its place is stored. A write that fails costs a later miss and nothing more.
 */
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { resolve } from 'node:path';
import cacache from 'cacache';
import PQueue from 'p-queue';
import { UsageError, describeErrno } from '../errors.js';
import { makeDirectory } from '../make-directory.js';
import { REDIRECT_STATUSES, type ResponseOutcome } from '../http/outcome.js';
import type { BodyFormat, RunOptions } from '../options.js';
import type { PlannedRequest } from '../plan/planner.js';
import { SECRET_HEADERS } from '../plan/secrets.js';
import type { Redactor } from '../record/redact.js';
import { cacheKey, readOrCreateSalt } from './cache-key.js';
import { isStorable, judgeFreshness, refreshedHeaders } from './freshness.js';
import {
  answerView,
  exchangeOf,
  readStoredAnswer,
  requestView,
  scrubHeaders,
  storedOutcome,
  toStoredAnswer,
  withStoredShapes,
  type Scrubber,
  type StoredAnswer,
} from './stored-answer.js';

/** A stored answer that must be revalidated: sent with its validators, answered maybe with a 304. */
export interface StaleAnswer {
  key: string;
  integrity: string;
  stored: StoredAnswer;
}

export type CacheLookup =
  | { kind: 'hit'; outcome: ResponseOutcome }
  | { kind: 'stale'; answer: StaleAnswer; validators: Array<[name: string, value: string]> }
  /** `replaces`: an entry is there (stale, or not for this request), which the answer will replace. */
  | { kind: 'miss'; replaces: boolean };

/** Only these methods' answers are stored and served (RFC 9111 allows POST with care; we do not). */
const CACHED_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD']);
const MISS: CacheLookup = { kind: 'miss', replaces: false };
const MISS_REPLACING: CacheLookup = { kind: 'miss', replaces: true };
/**
 * Reads and writes on disk at once, at most. The run reads ahead up to 2,000 inputs, each asking
 * at the same moment: unbounded, they would open more files than a process may (EMFILE). One
 * queue, first come first served: a new input's lookup waits behind the writes of the answers
 * before it, so a disk slower than the API slows the run instead of piling bodies up in memory.
 */
const DISK_CONCURRENCY = 16;
/** What cacache says of an entry that is damaged (not of a disk that is busy or refuses): forget it. */
const DAMAGED = new Set(['EINTEGRITY', 'EBADSIZE', 'ENOENT']);

export interface ResponseCacheSettings {
  dir: string;
  salt: string;
  bodyFormat: BodyFormat;
  maxBodyBytes: number;
  /** --cache-max-age. */
  defaultMaxAgeMs: number | undefined;
  scrubber: Scrubber;
}

/** Opens the run's cache: a directory that cannot be made or written is a usage error, before any request. */
export async function openResponseCache(options: RunOptions, redactor: Redactor): Promise<ResponseCache | undefined> {
  if (options.cacheDir === undefined) return undefined;
  const dir = resolve(options.cacheDir);
  let salt: string;
  try {
    await makeDirectory(dir);
    await access(dir, constants.W_OK);
    salt = await readOrCreateSalt(dir);
  } catch (error) {
    const { code } = error as NodeJS.ErrnoException;
    // mkdir says EEXIST for a file in the way, ENOTDIR for a file on the path.
    const why = code === 'EEXIST' || code === 'ENOTDIR' ? `it or a folder on its path is a file (${code})` : describeErrno(error as NodeJS.ErrnoException);
    throw new UsageError(`--cache cannot use ${options.cacheDir} as its directory: ${why}.`);
  }
  const secretNames = new Set([...SECRET_HEADERS, ...options.secretHeaders.map((name) => name.toLowerCase())]);
  return new ResponseCache({
    dir,
    salt,
    bodyFormat: options.bodyFormat,
    maxBodyBytes: options.maxBodyBytes,
    defaultMaxAgeMs: options.cacheMaxAgeMs,
    scrubber: { isSecretHeader: (name) => secretNames.has(name), redactor },
  });
}

export class ResponseCache {
  readonly #settings: ResponseCacheSettings;
  /** Every read and write; the run waits for the writes before it ends. */
  readonly #disk = new PQueue({ concurrency: DISK_CONCURRENCY });

  constructor(settings: ResponseCacheSettings) {
    this.#settings = settings;
  }

  /** What the cache holds for this request at `now`. Never rejects: trouble reading is a miss. */
  async lookup(plan: PlannedRequest, now: number): Promise<CacheLookup> {
    if (!CACHED_METHODS.has(plan.method)) return MISS;
    return this.#disk.add(() => this.#read(plan, now));
  }

  async #read(plan: PlannedRequest, now: number): Promise<CacheLookup> {
    const { dir, scrubber, defaultMaxAgeMs } = this.#settings;
    const key = cacheKey(this.#settings.salt, plan);
    try {
      const entry = await cacache.get.info(dir, key);
      if (entry === null) return MISS;
      const stored = readStoredAnswer(entry.metadata);
      if (stored === undefined) return this.#forget(key);
      // Larger than this run's --max-body allows: fetched, it would fail; served, it must not pass.
      if ((entry.size ?? 0) > this.#settings.maxBodyBytes) return MISS_REPLACING;
      const freshness = judgeFreshness(exchangeOf(stored), requestView(plan, scrubber), defaultMaxAgeMs, now);
      if (freshness.kind === 'fresh') {
        const body = await cacache.get.byDigest(dir, entry.integrity, { memoize: false });
        return { kind: 'hit', outcome: storedOutcome(stored, body, this.#settings.bodyFormat, 0) };
      }
      if (freshness.validators.length === 0) return MISS_REPLACING;
      return { kind: 'stale', answer: { key, integrity: entry.integrity, stored }, validators: freshness.validators };
    } catch (error) {
      return isDamage(error) ? this.#forget(key) : MISS;
    }
  }

  /**
   * The record's outcome after a 304 to a revalidation: the stored body with the headers the 304
   * refreshed, stored again as fresh from `now`. Undefined when the stored body can no longer be
   * read: the request must then go again in full.
   */
  async revalidated(stale: StaleAnswer, plan: PlannedRequest, notModified: ResponseOutcome, now: number): Promise<ResponseOutcome | undefined> {
    const { dir, scrubber } = this.#settings;
    let body: Buffer;
    try {
      body = await this.#disk.add(() => cacache.get.byDigest(dir, stale.integrity, { memoize: false }));
    } catch (error) {
      if (isDamage(error)) this.#forget(stale.key);
      return undefined;
    }
    const fresh = answerView(notModified.status, scrubHeaders(notModified.headers, scrubber));
    const merged = refreshedHeaders(exchangeOf(stale.stored), requestView(plan, scrubber), fresh, now);
    const stored: StoredAnswer = { ...stale.stored, headers: withStoredShapes(merged, stale.stored.headers), receivedAt: now };
    this.#write(() => cacache.index.insert(dir, stale.key, stale.integrity, { metadata: stored, size: body.length }).then(() => this.#compact(stale.key)));
    return {
      ...storedOutcome(stored, body, this.#settings.bodyFormat, notModified.latencyMs),
      sentMs: notModified.sentMs,
      roundTripMs: notModified.roundTripMs,
    };
  }

  /**
   * Stores the answer the server gave to the input's own request (not to a redirect hop), when
   * the rules allow. A redirect is never stored: a later run may be told to follow it or not.
   * `replaces`: the lookup found an entry, whose index lines are then compacted away.
   */
  store(plan: PlannedRequest, outcome: ResponseOutcome, receivedAt: number, replaces: boolean): void {
    if (!CACHED_METHODS.has(plan.method) || REDIRECT_STATUSES.has(outcome.status) || outcome.rawBody === undefined) return;
    const { dir, scrubber } = this.#settings;
    const request = requestView(plan, scrubber);
    const stored = toStoredAnswer(request, outcome, receivedAt, scrubber);
    if (!isStorable(request, answerView(stored.status, stored.headers))) return;
    const key = cacheKey(this.#settings.salt, plan);
    const body = outcome.rawBody;
    this.#write(() => cacache.put(dir, key, body, { metadata: stored, memoize: false }).then(() => (replaces ? this.#compact(key) : undefined)));
  }

  /** Waits for the writes under way. */
  async close(): Promise<void> {
    await this.#disk.onIdle();
  }

  /** A damaged entry is dropped, so the next run does not trip over it again; the answer fetched in its place compacts the index. */
  #forget(key: string): CacheLookup {
    this.#write(() => cacache.rm.entry(this.#settings.dir, key));
    return MISS_REPLACING;
  }

  /** cacache appends to a key's index on each write: keep only the newest, or a nightly job's index grows without end. */
  async #compact(key: string): Promise<void> {
    await cacache.index.compact(this.#settings.dir, key, (a, b) => a.key === b.key);
  }

  #write(write: () => Promise<unknown>): void {
    this.#disk.add(write).catch(() => undefined);
  }
}

function isDamage(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && DAMAGED.has(code);
}
