/**
 * Batch endpoints (issue #28, --batch): many APIs take several IDs in one request
 * (`/v1/tracks?ids=a,b,c`). This module reads the batch options once, before anything is sent,
 * and refuses every combination that cannot mean anything. Where the answer's array and each
 * element's key are (`--batch-split .tracks`, `--batch-key .id`) uses the path syntax of
 * `--next` (http/next-page.ts), plus `.` for the whole body.
 */
import { UsageError } from '../errors.js';
import { parseBodyPath, type PathStep } from '../http/next-page.js';
import { compileBatchUrlTemplate } from './template.js';

/** Values in one request at most: a URL of a thousand IDs is already longer than many servers take. */
export const MAX_BATCH = 1000;
export const DEFAULT_BATCH_JOIN = ',';

export interface Batching {
  /** Distinct values in one request at most. */
  size: number;
  /** What joins the encoded values. */
  join: string;
  /** Where the array of answers is in the body; [] for the body itself. */
  split: PathStep[];
  /** Where each answer's key is in it; [] for the element itself. */
  key: PathStep[];
  /** The two paths as the user wrote them, for messages. */
  splitText: string;
  keyText: string;
}

/** The options batching reads (a structural type: options.ts imports this module). */
export interface BatchOptions {
  batch: number | undefined;
  batchJoin: string | undefined;
  batchSplit: string | undefined;
  batchKey: string | undefined;
  template: string | undefined;
  bodyFormat: string;
  paginate: boolean;
  nextPath: string | undefined;
  cursor: string | undefined;
}

/** How the run batches its inputs, or undefined when each input is a request of its own. Throws UsageError. */
export function batchingOf(options: BatchOptions): Batching | undefined {
  if (options.batch === undefined) {
    const stray = [
      ['--batch-join', options.batchJoin],
      ['--batch-split', options.batchSplit],
      ['--batch-key', options.batchKey],
    ].find(([, value]) => value !== undefined)?.[0];
    if (stray !== undefined) throw new UsageError(`${stray} goes with --batch, which sends many inputs in one request.`);
    return undefined;
  }
  if (!Number.isInteger(options.batch) || options.batch < 1 || options.batch > MAX_BATCH) {
    throw new UsageError(`Expected \`batch\` (--batch) to be a whole number from 1 to ${MAX_BATCH}, got \`${options.batch}\`.`);
  }
  refuseWithBatch(options);
  const join = options.batchJoin ?? DEFAULT_BATCH_JOIN;
  if (join === '') throw new UsageError('Expected `batchJoin` (--batch-join) to be the text between two values, such as `,`, got an empty one.');
  if (options.batchSplit === undefined || options.batchKey === undefined) {
    throw new UsageError(
      '--batch needs --batch-split <path> (the array of answers in the body) and --batch-key <path> (the field naming each input), e.g. --batch-split .tracks --batch-key .id.',
    );
  }
  return {
    size: options.batch,
    join,
    split: parseBatchPath(options.batchSplit, '`batchSplit` (--batch-split)', '.tracks'),
    key: parseBatchPath(options.batchKey, '`batchKey` (--batch-key)', '.id'),
    splitText: options.batchSplit.trim(),
    keyText: options.batchKey.trim(),
  };
}

/** What cannot go with --batch, each in one sentence. */
function refuseWithBatch(options: BatchOptions): void {
  const paging = firstOf([
    ['--paginate', options.paginate],
    ['--next', options.nextPath !== undefined],
    ['--cursor', options.cursor !== undefined],
  ]);
  if (paging !== undefined) {
    throw new UsageError(`--batch and ${paging} cannot go together: a batch's answer is cut into one record per input, and pages belong to one input.`);
  }
  if (options.bodyFormat !== 'auto' && options.bodyFormat !== 'json') {
    throw new UsageError(`--batch cuts each JSON answer into one record per input, so --body-format must be auto or json, not ${options.bodyFormat}.`);
  }
  if (options.template === undefined) {
    throw new UsageError(
      "--batch fills the one placeholder of a --template with many inputs' values: give one, e.g. -t 'https://api.example.com/v1/tracks?ids={}'.",
    );
  }
  const template = compileBatchUrlTemplate(options.template);
  if ('kind' in template && template.kind === 'count') {
    throw new UsageError(
      `--batch needs a --template with exactly one placeholder for the joined values, and this one has ${template.count === 0 ? 'none' : template.count}.`,
    );
  }
  if ('kind' in template) {
    throw new UsageError(
      `--batch puts the joined values in the path, query or fragment of the URL, but the --template has its placeholder in the ${template.position}.`,
    );
  }
}

/** A body path as --next takes it, or `.` for the whole value. */
function parseBatchPath(text: string, option: string, example: string): PathStep[] {
  const trimmed = text.trim();
  if (trimmed === '.') return [];
  const path = parseBodyPath(trimmed);
  if (path === undefined) throw new UsageError(`Expected ${option} to be a path into the JSON body such as ${example}, got \`${text}\`.`);
  return path;
}

function firstOf(flags: ReadonlyArray<readonly [string, boolean]>): string | undefined {
  return flags.find(([, given]) => given)?.[0];
}
