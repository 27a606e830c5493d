/**
 * --dedupe: the first input with a request key is fetched; every later input with the same
 * key gets a copy of that record, with its own line and identity and `duplicateOf`.
 * Holds one entry per distinct key for the whole run: the first's line and where its record
 * sits in the spill file (record-spill.ts), and while it is in flight, the duplicates waiting.
 */
import type { PlannedRequest } from '../plan/planner.js';
import type { FetchRecord } from '../record/record.js';
import type { Redactor } from '../record/redact.js';
import { RecordSpill } from './record-spill.js';

/** One per distinct key, kept small: a million of them is a million-input run's memory. */
interface First {
  line: number;
  /** Where the first's record sits in the spill file; -1 while it is in flight. */
  offset: number;
  length: number;
  waiting?: PlannedRequest[];
}

export class Deduplicator {
  readonly #firstByKey = new Map<string, First>();
  readonly #redactor: Redactor;
  readonly #spill: RecordSpill;

  constructor(redactor: Redactor, spill: RecordSpill = new RecordSpill()) {
    this.#redactor = redactor;
    this.#spill = spill;
  }

  /** True when the request must be fetched; else its record comes now (returned) or later. */
  admit(plan: PlannedRequest): { fetch: true } | { fetch: false; record?: FetchRecord } {
    const first = this.#firstByKey.get(plan.key);
    if (first === undefined) {
      this.#firstByKey.set(plan.key, { line: plan.line, offset: -1, length: 0 });
      return { fetch: true };
    }
    if (first.offset >= 0) return { fetch: false, record: this.#copy(this.#spill.get(first), plan) };
    first.waiting ??= [];
    first.waiting.push(plan);
    return { fetch: false };
  }

  /** The records of the duplicates that waited for this one. */
  settle(plan: PlannedRequest, record: FetchRecord): FetchRecord[] {
    const first = this.#firstByKey.get(plan.key);
    if (first === undefined || first.line !== plan.line) return [];
    Object.assign(first, this.#spill.put(record));
    const copies = (first.waiting ?? []).map((waiting) => this.#copy(record, waiting));
    first.waiting = undefined;
    return copies;
  }

  /** Removes the spill file. */
  close(): void {
    this.#spill.close();
  }

  #copy(record: FetchRecord, plan: PlannedRequest): FetchRecord {
    const { vars: _vars, meta: _meta, ...rest } = record;
    const copy: FetchRecord = { ...rest, line: plan.line, url: this.#redactor.url(plan.inputUrl, true), duplicateOf: record.line };
    if (plan.identity.vars !== undefined) copy.vars = plan.identity.vars;
    if (plan.identity.meta !== undefined) copy.meta = plan.identity.meta;
    return copy;
  }
}
