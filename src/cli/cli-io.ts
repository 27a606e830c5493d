/** What the CLI is handed instead of reaching for `process`: tests pass their own. */
import type { Readable, Writable } from 'node:stream';

export interface CliIo {
  stdin: Readable & { isTTY?: boolean };
  stdout: Writable & { isTTY?: boolean };
  stderr: Writable & { isTTY?: boolean; columns?: number };
  env: NodeJS.ProcessEnv;
  /** Where SIGINT/SIGTERM come from (process in the bin; an EventEmitter in tests). */
  signals?: NodeJS.EventEmitter;
}

export const EXIT = { ok: 0, notOk: 1, usage: 2, stopped: 3, internal: 70, output: 74, sigint: 130, sigterm: 143 } as const;
