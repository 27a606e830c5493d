/**
 * Pagination (issue #27): after each page's record, whether its input goes on to another page,
 * and that page's request. A page is a fresh cycle of attempts of the same input: it passes the
 * limiter, the retry policy and the checks like any request. Its record carries `page`, the
 * `next` URL found (redacted) and `last`, true on exactly one record per input: the one that
 * ended it, whatever ended it.
 */
import { BODY_HEADERS, ORIGIN_BOUND_HEADERS } from '../http/redirect.js';
import type { AttemptRequest } from '../http/attempt.js';
import { findNextPage, type Paging } from '../http/next-page.js';
import { pagingOf, type RunOptions } from '../options.js';
import type { PlannedRequest } from '../plan/planner.js';
import { REDACTED } from '../plan/secrets.js';
import type { Lane } from '../rate/lanes.js';
import type { FetchRecord } from '../record/record.js';
import type { Redactor } from '../record/redact.js';
import { turnPage, type Job } from './job.js';

/** Where an earlier run left an input (--resume): its last page with a final record, and the `next` that page found, redacted. */
export interface PageContinuation {
  page: number;
  next: string;
}

export interface PagerSettings {
  paging: Paging;
  maxPages: number;
  /** --location-trusted: Authorization and Cookie go to pages on other origins too. */
  locationTrusted: boolean;
  redactor: Redactor;
  laneFor: (url: URL) => Lane;
  /** --resume: where an earlier run left this input, if it left it mid-way. */
  resumeFrom?: (plan: PlannedRequest) => PageContinuation | undefined;
}

/** The run's pager, or undefined when the run fetches one page per input. */
export function createPager(
  options: Pick<RunOptions, 'paginate' | 'nextPath' | 'cursor' | 'maxPages' | 'locationTrusted'>,
  context: Pick<PagerSettings, 'redactor' | 'laneFor' | 'resumeFrom'>,
): Pager | undefined {
  const paging = pagingOf(options);
  return paging && new Pager({ paging, maxPages: options.maxPages, locationTrusted: options.locationTrusted, ...context });
}

export class Pager {
  readonly #settings: PagerSettings;

  constructor(settings: PagerSettings) {
    this.#settings = settings;
  }

  /** A new input starts at page 1, or after the last page an earlier run finished. */
  begin(job: Job): void {
    const from = this.#settings.resumeFrom?.(job.plan);
    const url = from && restoreSecrets(from.next, job.plan.url);
    let page = 1;
    if (from !== undefined && url !== undefined) {
      turnPage(job, this.#pageRequest(job.plan, url), this.#settings.laneFor(url), job.readAt);
      page = from.page + 1;
    }
    job.paging = { page, seen: new Set([job.start.url.href]) };
  }

  /**
   * The record of the job's page, and whether the input goes on: then the job has become the
   * next page's, to be queued. An input ends at a page that is not ok, has no next page, is
   * --max-pages' last, or points back at a page the input has seen.
   */
  end(job: Job, record: FetchRecord, now: number): { record: FetchRecord; more: boolean } {
    const paging = job.paging!;
    const response = job.outcome?.kind === 'response' ? job.outcome : null;
    const next = record.ok && response !== null ? findNextPage(response, this.#settings.paging, job.request.url, job.plan.url) : null;
    const more = next !== null && paging.page < this.#settings.maxPages && !paging.seen.has(next.href);
    const paged = withPage(record, paging.page, next && this.#settings.redactor.url(next), !more);
    if (more) {
      turnPage(job, this.#pageRequest(job.plan, next), this.#settings.laneFor(next), now);
      paging.page += 1;
      paging.seen.add(next.href);
    }
    return { record: paged, more };
  }

  /** A record that ends its input at once (an invalid line): its only page. */
  only(record: FetchRecord): FetchRecord {
    return withPage(record, 1, null, true);
  }

  /**
   * A cursor goes into the input's own request (its method, headers and body). A link is
   * fetched with GET, as a redirect's 303 is; Authorization and Cookie go only to the input's
   * own origin (or everywhere with --location-trusted), as with a redirect and the run's credential.
   */
  #pageRequest(plan: PlannedRequest, url: URL): AttemptRequest {
    if (this.#settings.paging.kind === 'cursor') return { method: plan.method, url, headers: plan.headers, body: plan.body };
    const crossesOrigin = url.origin !== plan.url.origin && !this.#settings.locationTrusted;
    const headers = plan.headers.filter(([name]) => {
      const lower = name.toLowerCase();
      return !(crossesOrigin && ORIGIN_BOUND_HEADERS.has(lower)) && !BODY_HEADERS.has(lower);
    });
    return { method: plan.method === 'HEAD' ? 'HEAD' : 'GET', url, headers, body: undefined };
  }
}

function withPage(record: FetchRecord, page: number, next: string | null, last: boolean): FetchRecord {
  return { ...record, page, next, last };
}

/**
 * The secret query values redacted out of a `next` URL, taken back from the input's own URL
 * (an API key the input carries, which each page carries on). Undefined when a redacted value
 * has no such source: the input then starts again from its first page.
 */
export function restoreSecrets(next: string, input: URL): URL | undefined {
  let url: URL;
  try {
    url = new URL(next);
  } catch {
    return undefined;
  }
  for (const [name, value] of [...url.searchParams]) {
    if (value !== REDACTED) continue;
    const own = input.searchParams.get(name);
    if (own === null) return undefined;
    url.searchParams.set(name, own);
  }
  const href = url.href;
  return href.includes(REDACTED) || href.includes(encodeURIComponent(REDACTED)) ? undefined : url;
}
