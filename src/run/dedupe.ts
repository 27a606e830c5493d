/**
 * --dedupe: the first input with a request key is fetched; every later input with the same
 * key gets a copy of that record, with its own line and identity and `duplicateOf`.
 * Holds one entry per distinct key (and its record) for the whole run.
 */
import type { PlannedRequest } from '../plan/planner.js';
import type { FetchRecord } from '../record/record.js';
import type { Redactor } from '../record/redact.js';

interface First {
  line: number;
  record?: FetchRecord;
  waiting: PlannedRequest[];
}

export class Deduplicator {
  readonly #firstByKey = new Map<string, First>();
  readonly #redactor: Redactor;

  constructor(redactor: Redactor) {
    this.#redactor = redactor;
  }

  /** True when the request must be fetched; else its record comes now (returned) or later. */
  admit(plan: PlannedRequest): { fetch: true } | { fetch: false; record?: FetchRecord } {
    const first = this.#firstByKey.get(plan.key);
    if (first === undefined) {
      this.#firstByKey.set(plan.key, { line: plan.line, waiting: [] });
      return { fetch: true };
    }
    if (first.record) return { fetch: false, record: this.#copy(first.record, plan) };
    first.waiting.push(plan);
    return { fetch: false };
  }

  /** The records of the duplicates that waited for this one. */
  settle(plan: PlannedRequest, record: FetchRecord): FetchRecord[] {
    const first = this.#firstByKey.get(plan.key);
    if (first?.line !== plan.line) return [];
    first.record = record;
    const copies = first.waiting.map((waiting) => this.#copy(record, waiting));
    first.waiting = [];
    return copies;
  }

  #copy(record: FetchRecord, plan: PlannedRequest): FetchRecord {
    const { vars: _vars, meta: _meta, ...rest } = record;
    const copy: FetchRecord = { ...rest, line: plan.line, url: this.#redactor.url(plan.inputUrl), duplicateOf: record.line };
    if (plan.identity.vars !== undefined) copy.vars = plan.identity.vars;
    if (plan.identity.meta !== undefined) copy.meta = plan.identity.meta;
    return copy;
  }
}
