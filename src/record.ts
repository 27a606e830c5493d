/**
 * The record: the one documented output schema. One NDJSON line per input.
 * Every message that reaches a record passes through the redactor here.
 */
import type { AttemptOutcome } from './http/outcome.js';
import type { Redactor } from './redact.js';
import { describeOutcome } from './retry/policy.js';

/** Stable failure codes. Each maps from one place: http/classify.ts or the scheduler. */
export type ErrorCode =
  | 'INVALID_URL' // the input line is not an absolute http(s) URL
  | 'INVALID_INPUT' // the input format could not parse the item (a malformed CSV row, an NDJSON line that is not an object)
  | 'TEMPLATE_MISSING_VALUE' // a placeholder in the template has no value in this item
  | 'HTTP_STATUS' // the server answered with a non-2xx status, or one --expect-status does not list (see `status`)
  | 'SCHEMA_MISMATCH' // the JSON body does not match --schema (see `schemaErrors`)
  | 'TIMEOUT' // the attempt did not finish within --timeout
  | 'CONNECTION_REFUSED' // nothing listens there (ECONNREFUSED)
  | 'CONNECTION_RESET' // the peer closed the connection mid-request
  | 'DNS_FAILURE' // the host name does not resolve
  | 'TLS_ERROR' // certificate or handshake failure
  | 'NETWORK_ERROR' // any other socket-level failure
  | 'BODY_TOO_LARGE' // decoded body exceeded --max-body
  | 'DECODE_ERROR' // the body could not be decompressed
  | 'TOO_MANY_REDIRECTS' // more hops than --max-redirects, or a loop
  | 'BAD_REDIRECT' // a 3xx whose Location is missing or not http(s)
  | 'RETRY_AFTER_TOO_LONG' // the server asked us to wait longer than --max-retry-after
  | 'INTERRUPTED' // the run was stopped (SIGINT/SIGTERM) before this input finished
  | 'BUDGET_EXHAUSTED' // --max-requests ran out before this input finished
  | 'CIRCUIT_OPEN' // the circuit breaker stopped the run before this input finished
  | 'OUTPUT_CLOSED'; // never written: internal marker for a closed sink

export interface RecordError {
  code: ErrorCode;
  message: string;
}

export type BodyEncoding = 'json' | 'text' | 'base64' | 'none';

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
}

/** What identifies an input besides its line: carried into its record whatever happens. */
export interface InputIdentity {
  vars?: { [name: string]: string };
  meta?: unknown;
}

/** What the scheduler knows when an input is done; toRecord turns it into the schema. */
export interface RecordInput {
  line: number;
  method: string;
  /** The input URL as given (redacted here). */
  inputUrl: string;
  key: string;
  /** The last hop's URL, or null when nothing was sent. */
  finalUrl: URL | null;
  attempts: number;
  readAt: number;
  firstStartAt: number | null;
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
}

export function toRecord(input: RecordInput, redactor: Redactor): FetchRecord {
  const url = redactor.url(input.inputUrl);
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
    latencyMs: input.outcome ? input.outcome.latencyMs : null,
    bytes: response?.bytes ?? null,
    contentType: response?.contentType ?? null,
    bodyEncoding: response?.bodyEncoding ?? 'none',
    body: response?.body ?? null,
    error,
  };
  if (input.includeHeaders && response) record.headers = redactor.headers(response.headers);
  if (input.schemaErrors) record.schemaErrors = input.schemaErrors;
  return withIdentity(record, input.identity);
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
  return withIdentity({
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
    bytes: null,
    contentType: null,
    bodyEncoding: 'none',
    body: null,
    error: { code: invalid.code, message: redactor.text(invalid.message) },
  }, invalid.identity);
}
