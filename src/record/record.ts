/**
 * The record: the one documented output schema. One NDJSON line per input.
 * Every message that reaches a record passes through the redactor here.
 */
import { describeOutcome, type AttemptOutcome, type BodyEncoding, type SavedBody } from '../http/outcome.js';
import type { ErrorCode } from './error-codes.js';
import type { Redactor } from './redact.js';

export interface RecordError {
  code: ErrorCode;
  message: string;
}

export interface FetchRecord {
  /** 1-based line number of the input. */
  line: number;
  /** The input URL, redacted (or the raw text, truncated and redacted, for an invalid line). */
  url: string;
  /** The URL of the last hop, redacted; null when nothing was fetched. */
  finalUrl: string | null;
  method: string;
  /** Stable request key (see plan.ts). */
  key: string;
  /** True for a 2xx final response. */
  ok: boolean;
  /** False exactly when a later run should try this input again. */
  final: boolean;
  status: number | null;
  attempts: number;
  /** First attempt start to record, waits included. */
  ms: number;
  /** Input read to first attempt start. */
  queuedMs: number;
  /** Last attempt, start to last byte. */
  latencyMs: number | null;
  /** When the first attempt started, epoch ms; null when nothing was sent. */
  startedAt: number | null;
  /** When the last attempt ended (its last byte, or its failure), epoch ms; null when nothing was sent. */
  endedAt: number | null;
  bytes: number | null;
  contentType: string | null;
  bodyEncoding: BodyEncoding;
  body: unknown;
  error: RecordError | null;
  headers?: { [name: string]: string | string[] };
  /** The named values that filled the template (secret ones redacted). */
  vars?: { [name: string]: string };
  /** A request spec's `meta`, verbatim. */
  meta?: unknown;
  /** With --dedupe: the line whose request this record's result was copied from. */
  duplicateOf?: number;
  /** With --schema: why the body did not match (at most 10). */
  schemaErrors?: Array<{ path: string; message: string }>;
  /** With pagination (--paginate, --next, --cursor): this page's number, from 1. */
  page?: number;
  /** With pagination: the next page's URL this page gave, redacted; null when it gave none. */
  next?: string | null;
  /** With pagination: true on the one record that ends its input, whatever ended it. */
  last?: boolean;
  /** With --cache: where the answer came from (see CacheUse). */
  cache?: CacheUse;
  /**
   * With --batch: how many distinct values the request that answered this input carried, and
   * where this input's value was among them (from 0); `finalUrl` is that request's URL.
   * `requests`: the attempts counted on this record, as each batch request (a retry, a split's
   * half) is counted once, on the record of its first input: summed over the records, they are
   * the requests sent, where `attempts` would count each request once per input it carried.
   */
  batch?: { size: number; index: number; requests: number };
  /** With --save: the file the body went to, as the template made it, its size and SHA-256 (hex); `body` is then null. */
  saved?: SavedBody;
  /** With --save and --resume: the file was found whole at its path and this record made from it, without a request. */
  fromFile?: true;
}

/**
 * With --cache: `hit`, the stored answer was fresh and no request was sent; `revalidated`, the
 * server said 304 Not Modified and the stored body was used; `miss`, everything else (the answer
 * came from the server, or there was none).
 */
export type CacheUse = 'hit' | 'revalidated' | 'miss';

/** What identifies an input besides its line: carried into its record whatever happens. */
export interface InputIdentity {
  vars?: { [name: string]: string };
  meta?: unknown;
}

/** What the scheduler knows when an input is done; toRecord turns it into the schema. */
export interface RecordInput {
  line: number;
  method: string;
  /** The input URL as given (redacted here): one the planner parsed. */
  inputUrl: string;
  key: string;
  /** The last hop's URL, or null when nothing was sent. */
  finalUrl: URL | null;
  attempts: number;
  readAt: number;
  firstStartAt: number | null;
  /** When the last attempt ended; null when none was made. */
  lastEndAt: number | null;
  endAt: number;
  /** The last attempt's outcome, if any was made. */
  outcome: AttemptOutcome | null;
  /** An error that overrides what the outcome says (redirect trouble, a wait too long, an interrupt). */
  failure: { code: ErrorCode; what: string } | null;
  final: boolean;
  /** The last response passed the checks (2xx, or --expect-status, and --schema). */
  accepted: boolean;
  schemaErrors?: Array<{ path: string; message: string }>;
  identity: InputIdentity;
  includeHeaders: boolean;
  /** With --cache: where the answer came from. */
  cache?: CacheUse;
}

export function toRecord(input: RecordInput, redactor: Redactor): FetchRecord {
  const url = redactor.url(input.inputUrl, true);
  const response = input.outcome?.kind === 'response' ? input.outcome : null;
  const ok = input.failure === null && response !== null && input.accepted;

  let error: RecordError | null = null;
  if (!ok) {
    const { code, what } = input.failure ?? describeFailure(input.outcome);
    const after = input.attempts > 1 ? ` after ${input.attempts} attempts` : '';
    error = { code, message: redactor.text(`${input.method} ${url}: ${what}${after}`) };
  }

  const record: FetchRecord = {
    line: input.line,
    url,
    finalUrl: input.finalUrl ? redactor.url(input.finalUrl) : null,
    method: input.method,
    key: input.key,
    ok,
    final: input.final,
    status: response?.status ?? null,
    attempts: input.attempts,
    ms: input.firstStartAt === null ? 0 : Math.round(input.endAt - input.firstStartAt),
    queuedMs: Math.round((input.firstStartAt ?? input.endAt) - input.readAt),
    // No attempt, no latency: an answer from the cache took none.
    latencyMs: input.outcome && input.firstStartAt !== null ? input.outcome.latencyMs : null,
    startedAt: input.firstStartAt === null ? null : Math.round(input.firstStartAt),
    endedAt: input.firstStartAt === null || input.lastEndAt === null ? null : Math.round(input.lastEndAt),
    bytes: response?.bytes ?? null,
    contentType: response?.contentType ?? null,
    bodyEncoding: response?.bodyEncoding ?? 'none',
    body: response?.body ?? null,
    error,
  };
  if (input.includeHeaders && response) record.headers = redactor.headers(response.headers);
  if (input.schemaErrors) record.schemaErrors = input.schemaErrors;
  if (input.cache !== undefined) record.cache = input.cache;
  if (response?.saved) record.saved = savedForRecord(response.saved, redactor);
  return withIdentity(record, input.identity);
}

/** A secret placeholder is refused in --save, but a value may still match a secret by chance. */
function savedForRecord(saved: SavedBody, redactor: Redactor): SavedBody {
  return { path: redactor.text(saved.path), bytes: saved.bytes, sha256: saved.sha256 };
}

/**
 * The record of an input settled before any request (--save): its file found whole on disk
 * (`saved`, ok), or its file refused or not writable (`failure`).
 */
export function unsentRecord(
  plan: { line: number; method: string; inputUrl: string; key: string; identity: InputIdentity },
  ending: { saved: SavedBody; failure?: undefined } | { failure: { code: ErrorCode; what: string }; final: boolean; saved?: undefined },
  redactor: Redactor,
): FetchRecord {
  const url = redactor.url(plan.inputUrl);
  const { saved, failure } = ending;
  const record: FetchRecord = {
    line: plan.line,
    url,
    finalUrl: null,
    method: plan.method,
    key: plan.key,
    ok: saved !== undefined,
    final: 'final' in ending ? ending.final : true,
    status: null,
    attempts: 0,
    ms: 0,
    queuedMs: 0,
    latencyMs: null,
    startedAt: null,
    endedAt: null,
    bytes: saved?.bytes ?? null,
    contentType: null,
    bodyEncoding: 'none',
    body: null,
    error: failure === undefined ? null : { code: failure.code, message: redactor.text(`${plan.method} ${url}: ${failure.what}`) },
  };
  if (saved !== undefined) {
    record.saved = savedForRecord(saved, redactor);
    record.fromFile = true;
  }
  return withIdentity(record, plan.identity);
}

function withIdentity(record: FetchRecord, identity: InputIdentity): FetchRecord {
  if (identity.vars !== undefined) record.vars = identity.vars;
  if (identity.meta !== undefined) record.meta = identity.meta;
  return record;
}

function describeFailure(outcome: AttemptOutcome | null): { code: ErrorCode; what: string } {
  if (outcome === null) return { code: 'INTERRUPTED', what: 'not sent' };
  if (outcome.kind === 'failure') return { code: outcome.code, what: outcome.message };
  return { code: 'HTTP_STATUS', what: describeOutcome(outcome) };
}

/** The record for a line that is not a request. */
export function invalidRecord(
  invalid: { line: number; key: string; text: string; code: ErrorCode; message: string; identity: InputIdentity },
  redactor: Redactor,
): FetchRecord {
  return withIdentity(
    {
      line: invalid.line,
      url: redactor.text(invalid.text),
      finalUrl: null,
      method: '',
      key: invalid.key,
      ok: false,
      final: true,
      status: null,
      attempts: 0,
      ms: 0,
      queuedMs: 0,
      latencyMs: null,
      startedAt: null,
      endedAt: null,
      bytes: null,
      contentType: null,
      bodyEncoding: 'none',
      body: null,
      error: { code: invalid.code, message: redactor.text(invalid.message) },
    },
    invalid.identity,
  );
}
