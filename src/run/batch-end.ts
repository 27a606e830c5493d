/**
 * How a batch's request ends (--batch): its answer cut into one record per input, or the batch
 * split in halves to find the input that a 4xx, or a fault that outlived its retries, is about,
 * so one bad ID does not fail fifty good ones. Pure: the scheduler queues the halves.
 */
import { describeOutcome, type AttemptOutcome, type ResponseOutcome } from '../http/outcome.js';
import { readBodyPath } from '../http/next-page.js';
import type { Batching } from '../plan/batching.js';
import type { PlannedRequest } from '../plan/planner.js';
import { checkResponse, type ResponseChecks } from '../record/checks.js';
import type { ErrorCode } from '../record/error-codes.js';
import type { FetchRecord } from '../record/record.js';
import type { Redactor } from '../record/redact.js';
import { jobRecord, type Failure, type Job } from './job.js';

/** Refused statuses that end a batch whole: every input gets the answer, and no half is sent. */
const WHOLE_BATCH_STATUSES: ReadonlySet<number> = new Set([
  401, // Unauthorized: the credential was refused, not an ID; each half would be refused too, at a cost in quota
  403, // Forbidden: likewise
  407, // Proxy Authentication Required: the proxy refused, not the API
  429, // Too Many Requests: the batch waited and went again whole; halves would only be more requests
  503, // Service Unavailable: overload or maintenance, as above
]);

/** Failures without an answer that a smaller batch may get past. */
const SPLITTING_FAILURES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'TIMEOUT', // a smaller batch is answered sooner
  'BODY_TOO_LARGE', // and its answer is smaller
  'CONNECTION_RESET', // a server that drops what it cannot take
]);

/**
 * Whether a batch of `values` distinct values that ended so goes again as two halves. Only an
 * answer about the request itself splits it: a stop of the run (`failure`), an accepted answer,
 * a refusal of the credential or of the rate, or a failure to connect do not.
 */
export function shouldSplit(values: number, outcome: AttemptOutcome | null, failure: Failure | null, checks: ResponseChecks): boolean {
  if (values < 2 || failure !== null || outcome === null) return false;
  if (outcome.kind === 'failure') return SPLITTING_FAILURES.has(outcome.code);
  if (outcome.status < 400 || WHOLE_BATCH_STATUSES.has(outcome.status)) return false;
  return !checkResponse(outcome.status, outcome.statusText, undefined, 'none', { expectStatus: checks.expectStatus }).ok;
}

/** Why an answer could not be cut, for the record's message. */
export interface Uncut {
  problem: string;
}

/**
 * The elements of an accepted answer by key: the array at `split`, each element under the
 * string form of the value at `key` (an API may answer "42" as 42). When two elements have one
 * key, the first wins.
 */
export function cutAnswer(response: ResponseOutcome, batching: Batching): Map<string, unknown> | Uncut {
  if (response.bodyEncoding !== 'json') return { problem: `the answer is not JSON (${response.contentType ?? 'no Content-Type'}, ${response.bytes} bytes)` };
  const array = readBodyPath(response.body, batching.split);
  if (!Array.isArray(array)) return { problem: `the answer has no array at ${batching.splitText} (--batch-split)` };
  const elements = new Map<string, unknown>();
  for (const element of array) {
    const key = keyText(readBodyPath(element, batching.key));
    if (key !== undefined && !elements.has(key)) elements.set(key, element);
  }
  return elements;
}

function keyText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

export interface BatchRecordSettings {
  batching: Batching;
  checks: ResponseChecks;
  includeHeaders: boolean;
  redactor: Redactor;
}

/**
 * One record per input of the batch, as a request of its own would have it: its line, URL, key
 * and identity; the batch's status, and its element as the body. `finalUrl` is the batch's URL,
 * `attempts` counts every request that carried the input, `batch` says how many values the
 * request carried and where this input's was, and which requests the record counts (each once,
 * on the record of its first input, so that they add up over the records to the requests sent).
 */
export function batchRecords(
  job: Job,
  failure: Failure | null,
  final: boolean,
  endAt: number,
  settings: BatchRecordSettings,
): Array<{ plan: PlannedRequest; record: FetchRecord }> {
  const { members, values } = job.batch!;
  const response = job.outcome?.kind === 'response' ? job.outcome : null;
  const checks = { expectStatus: settings.checks.expectStatus };
  const accepted = failure === null && response !== null && checkResponse(response.status, response.statusText, undefined, 'none', checks).ok;
  const cut = accepted ? cutAnswer(response, settings.batching) : undefined;
  const toBatch = values.length > 1 ? ` to a batch of ${values.length} values` : '';
  return members.map((member) => {
    const value = member.plan.batchValue!;
    let outcome = job.outcome;
    let memberFailure = failure;
    let memberFinal = final;
    if (cut instanceof Map) {
      const element = cut.get(value);
      outcome = element === undefined ? withoutBody(response!) : { ...response!, body: element, bodyEncoding: 'json', bytes: jsonBytes(element) };
      if (element === undefined) {
        // The API answered for the batch and left this ID out: it does not know it, so a rerun would not help.
        memberFailure = {
          code: 'BATCH_MISSING',
          what: `${describeOutcome(response!)}${toBatch}, with no element whose ${settings.batching.keyText} is ${JSON.stringify(value)}`,
        };
        memberFinal = true;
      }
    } else if (cut !== undefined) {
      // An answer in another shape may be a passing fault, or a wrong --batch-split that a rerun with --resume corrects.
      outcome = withoutBody(response!);
      memberFailure = { code: 'BATCH_UNREADABLE', what: `${describeOutcome(response!)}${toBatch}, but ${cut.problem}` };
      memberFinal = false;
    } else if (failure === null && response !== null && toBatch !== '') {
      // The answer is the batch's, not this input's alone: say so.
      const unexpected = checks.expectStatus ? ', not in --expect-status' : '';
      memberFailure = { code: 'HTTP_STATUS', what: `${describeOutcome(response)}${toBatch}${unexpected}` };
    }
    const view: Job = {
      ...job,
      plan: member.plan,
      outcome,
      attempts: member.attemptsBefore + job.attempts,
      readAt: member.readAt,
      firstStartAt: member.firstStartAt ?? job.firstStartAt,
    };
    const record = jobRecord(view, memberFailure, memberFinal, endAt, settings);
    const requests = member.requestsCounted + (member === members[0] ? job.attempts : 0);
    record.batch = { size: values.length, index: values.indexOf(value), requests };
    return { plan: member.plan, record };
  });
}

function withoutBody(response: ResponseOutcome): ResponseOutcome {
  return { ...response, body: null, bodyEncoding: 'none', bytes: 0 };
}

function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? '');
}
