/**
 * `ratefetch/redis`: a run shared through Redis, as a library (issue #25). Its own entry, so a
 * one-machine user of `ratefetch` never loads BullMQ (about 120 ms).
 */
export { coordinate, type CoordinatorSettings, type CoordinatorHooks } from './run/coordinator.js';
export { startPipelineWorker, type PipelineWorker } from './run/queue-pipeline.js';
export { cleanRun, readRun, runStatus, type RunStatus } from './run/redis-run.js';
export { RedisLimiter, type SharedTake } from './rate/shared-limiter.js';
