/** The library's public face: re-exports only. Start reading at run/fetch-all.ts. */
export { fetchAll, type RunHooks } from './run/fetch-all.js';
export { resolveOptions, DEFAULTS, VERSION } from './options.js';
export type { RunOptions, BodyFormat } from './options.js';
export type { CacheUse, FetchRecord, RecordError } from './record/record.js';
export type { ErrorCode } from './record/error-codes.js';
export type { BodyEncoding, SavedBody } from './http/outcome.js';
export type { RunEvent, RunEventType, RunEventListener, StopCause, RateChangeReason } from './events.js';
export type { InputItem, RequestSpec } from './input/item.js';
export { createPlanner, planAll } from './plan/planner.js';
export type { InputSource } from './plan/planner.js';
export { planOnly, type PlannedLine } from './plan/dry-run.js';
export type { SchemaError } from './record/checks.js';
export type { PlannedRequest, InvalidInput, PlanResult, Planner } from './plan/planner.js';
export { readLines } from './input/read-lines.js';
export { loadResume, type Resume, type ResumeOptions } from './output/resume.js';
export { UsageError, OutputError } from './errors.js';
export type { Limiter, Clock, TakeResult } from './rate/limiter.js';
export { RedisLimiter, type SharedTake } from './rate/shared-limiter.js';
