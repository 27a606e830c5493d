/**
 * --batch: inputs gathered into batches, and a batch's one request. Pure; the scheduler and
 * --dry-run gather alike, so a dry run shows the batches a run sends when its input does not stall.
 */
import type { PlannedRequest } from './planner.js';
import { requestKey } from './planner.js';
import { compileBatchUrlTemplate } from './template.js';

export interface BatchRequest {
  /** The one request: the batch's URL, with the first input's method, headers and body (which no input varies). */
  plan: PlannedRequest;
  /** The inputs it answers, in input order. */
  members: PlannedRequest[];
  /** The distinct values sent, in the order of their first input: one value per ID, however many inputs ask for it. */
  values: string[];
}

/** Inputs read and not yet sent: a batch fills up to `size` distinct values. */
export class PendingBatch {
  readonly #size: number;
  #members: PlannedRequest[] = [];
  #values = new Set<string>();

  constructor(size: number) {
    this.#size = size;
  }

  get isEmpty(): boolean {
    return this.#members.length === 0;
  }

  /** Adds an input; true when the batch is full and should go. */
  add(plan: PlannedRequest): boolean {
    this.#members.push(plan);
    this.#values.add(batchValueOf(plan));
    return this.#values.size >= this.#size;
  }

  /** The inputs gathered so far; the batch starts empty again. */
  take(): PlannedRequest[] {
    const members = this.#members;
    this.#members = [];
    this.#values = new Set();
    return members;
  }
}

/** Builds a batch's request from its inputs. `template` has passed batchingOf already. */
export function createBatchPlanner(template: string, join: string): (members: readonly PlannedRequest[]) => BatchRequest {
  const compiled = compileBatchUrlTemplate(template);
  if (!('render' in compiled)) throw new Error(`not a batch template: ${compiled.kind}`);
  return (members) => {
    const first = members[0];
    if (first === undefined) throw new Error('a batch of no input');
    const values = [...new Set(members.map(batchValueOf))];
    const text = compiled.render(values, join);
    const url = new URL(text);
    // The planner moved any credentials of the template into an Authorization header already.
    url.username = '';
    url.password = '';
    const plan: PlannedRequest = {
      kind: 'request',
      line: first.line,
      method: first.method,
      url,
      headers: first.headers,
      body: first.body,
      key: requestKey(first.method, text, first.body),
      inputUrl: text,
      identity: {},
    };
    return { plan, members: [...members], values };
  };
}

/** The value an input puts in its batch (the planner sets it with --batch). */
export function batchValueOf(plan: PlannedRequest): string {
  if (plan.batchValue === undefined) throw new Error(`line ${plan.line} has no batch value`);
  return plan.batchValue;
}
