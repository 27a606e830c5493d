/**
 * One HTTP attempt: send, read and decode the body under a cap and an overall deadline, and
 * describe what happened as a value. No retries, no sleeping, no Retry-After here.
 *
 * It talks to undici's `dispatch` with a handler of its own rather than through `request()`:
 * the body arrives as chunks into an array, with no stream, no async iterator and no promise
 * per chunk. That is most of what a request costs the client (docs/performance.md).
 */
import type { Dispatcher } from 'undici';
import { watchAbort } from '../abort.js';
import type { BodyFormat } from '../options.js';
import { formatDuration } from '../text.js';
import { BodyTooLarge, decodeBody, formatBody } from './body.js';
import type { BodySink, SaveBody, SinkFailure } from './body-sink.js';
import { cancelDeadline, startDeadline, type Deadline } from './deadlines.js';
import { classifyError } from './classify.js';
import {
  REDIRECT_STATUSES,
  firstHeaderValue,
  type AttemptOutcome,
  type FailureOutcome,
  type HeldOutcome,
  type ResponseOutcome,
  type SavedBody,
} from './outcome.js';

export interface AttemptRequest {
  method: string;
  url: URL;
  headers: Array<[string, string]>;
  body: string | Uint8Array | undefined;
}

export interface AttemptSettings {
  dispatcher: Dispatcher;
  timeoutMs: number;
  maxBodyBytes: number;
  bodyFormat: BodyFormat;
  /** When true, a 3xx with a Location is a hop: its body is discarded, not decoded. */
  followRedirects: boolean;
  /** Keep the decoded body's bytes on the outcome, whatever --body-format says (--cache stores them). @default false */
  keepRawBody?: boolean;
}

/** What is particular to one attempt of a run (the run's settings are shared by all). */
export interface AttemptHooks {
  /** Aborts the attempt at once (hard stop after an interrupt's grace). */
  signal?: AbortSignal | undefined;
  /**
   * Asked the moment undici is about to write the request, which can be well after the attempt
   * started (it waits for a connect, or for a socket undici frees only on the next turn of the
   * event loop); false holds it back unsent.
   */
  mayGoOnTheWire?: (() => boolean) | undefined;
  /** --save: an accepted answer's body goes to a file as it arrives, under no --max-body. */
  saveBody?: SaveBody | undefined;
}

class AttemptTimeout extends Error {}
class SinkFailed extends Error {
  constructor(readonly failure: SinkFailure) {
    super(failure.message);
  }
}
class HeldBack extends Error {}
class Interrupted extends Error {}
/** A hop's body past this is not worth reading to keep the connection: it is closed instead. */
const HOP_BODY_LIMIT = 64 * 1024;

export function attempt(req: AttemptRequest, settings: AttemptSettings, hooks: AttemptHooks = {}): Promise<AttemptOutcome | HeldOutcome> {
  return new Promise((resolve) => new AttemptHandler(req, settings, hooks, resolve).dispatch());
}

/** undici's handler for one attempt: it gathers the answer and settles the attempt once. */
class AttemptHandler implements Dispatcher.DispatchHandler {
  readonly #req: AttemptRequest;
  readonly #settings: AttemptSettings;
  readonly #hooks: AttemptHooks;
  readonly #resolve: (outcome: AttemptOutcome | HeldOutcome) => void;
  readonly #startedAt = performance.now();
  #sentAt: number | undefined;
  #answeredAt: number | undefined;
  #controller: Dispatcher.DispatchController | undefined;
  /** Why we aborted, when we did before undici began (the abort then waits for onRequestStart). */
  #abortReason: Error | undefined;
  #settled = false;
  #deadline: Deadline | undefined;
  #unwatch: (() => void) | undefined;
  /** The answer's status line and headers, once they came. */
  #head: { status: number; statusText: string; headers: ResponseOutcome['headers']; contentType: string | null } | undefined;
  #discardBody = false;
  #keepBody = true;
  #chunks: Buffer[] = [];
  #bytes = 0;
  /** --save: where this answer's body goes instead of #chunks. */
  #sink: BodySink | undefined;
  /** The body came whole and the sink is finishing its file: nothing may abort it now. */
  #committing = false;

  constructor(req: AttemptRequest, settings: AttemptSettings, hooks: AttemptHooks, resolve: (outcome: AttemptOutcome | HeldOutcome) => void) {
    this.#req = req;
    this.#settings = settings;
    this.#hooks = hooks;
    this.#resolve = resolve;
  }

  dispatch(): void {
    const { timeoutMs, dispatcher } = this.#settings;
    const { signal } = this.#hooks;
    if (signal?.aborted) return this.#settle(this.#failure('INTERRUPTED', 'interrupted while in flight'));
    // undici's bodyTimeout measures gaps between chunks; a slow-drip body needs a whole deadline.
    this.#deadline = startDeadline(timeoutMs, this.#onDeadline);
    if (signal !== undefined) this.#unwatch = watchAbort(signal, this.#onHardStop);
    const { url, method, headers, body } = this.#req;
    try {
      dispatcher.dispatch(
        {
          origin: url.origin,
          path: url.pathname + url.search,
          method: method as Dispatcher.HttpMethod,
          headers: headers.flat(),
          body,
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
        },
        this,
      );
    } catch (error) {
      this.#fail(error);
    }
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#abortReason !== undefined) return controller.abort(this.#abortReason);
    if (this.#hooks.mayGoOnTheWire?.() === false) return this.#abort(new HeldBack());
    this.#sentAt = performance.now();
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
    statusMessage?: string,
  ): void {
    this.#answeredAt = performance.now();
    const normalized = normalizeHeaders(headers);
    this.#head = {
      status: statusCode,
      statusText: statusMessage ?? '',
      headers: normalized,
      contentType: firstHeaderValue(normalized['content-type']) ?? null,
    };
    const isHop = this.#settings.followRedirects && REDIRECT_STATUSES.has(statusCode) && normalized.location !== undefined;
    this.#discardBody = isHop || this.#req.method === 'HEAD';
    this.#keepBody = this.#settings.bodyFormat !== 'none' || normalized['content-encoding'] !== undefined || this.#settings.keepRawBody === true;
    const { saveBody } = this.#hooks;
    if (saveBody !== undefined && !this.#discardBody && saveBody.accepts(statusCode)) {
      const length = Number(firstHeaderValue(normalized['content-length']));
      this.#sink = saveBody.open(
        { contentEncoding: firstHeaderValue(normalized['content-encoding']), contentLength: Number.isSafeInteger(length) ? length : undefined },
        { resume: () => this.#controller?.resume(), fail: (failure) => this.#abort(new SinkFailed(failure)) },
      );
    }
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#sink !== undefined) {
      if (!this.#settled && !this.#sink.write(chunk)) controller.pause();
      return;
    }
    this.#bytes += chunk.length;
    if (this.#discardBody) {
      // A hop's body is not read past a limit: settle now, and let the connection go.
      if (this.#bytes > HOP_BODY_LIMIT) this.#finishResponse();
      return;
    }
    if (this.#bytes > this.#settings.maxBodyBytes) return this.#abort(new BodyTooLarge());
    // --body none keeps nothing, but an encoded body is decoded all the same: its size counts, and so does the cap.
    if (this.#keepBody) this.#chunks.push(chunk);
  }

  onResponseEnd(): void {
    this.#finishResponse();
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.#fail(error);
  }

  readonly #onHardStop = () => this.#abort(new Interrupted());
  readonly #onDeadline = () => this.#abort(new AttemptTimeout());

  #abort(reason: Error): void {
    if (this.#settled || this.#committing) return;
    if (this.#controller === undefined) {
      // undici has not started it yet: it aborts at onRequestStart, and the attempt settles now.
      this.#abortReason = reason;
      return this.#fail(reason);
    }
    this.#controller.abort(reason);
    // undici reports the abort through onResponseError, unless the answer already ended.
    this.#fail(reason);
  }

  #finishResponse(): void {
    if (this.#settled || this.#head === undefined) return;
    if (this.#sink !== undefined) {
      // The last byte is in: the rest (fsync, rename) is local work, done whatever the deadline.
      this.#committing = true;
      if (this.#deadline !== undefined) cancelDeadline(this.#settings.timeoutMs, this.#deadline);
      this.#sink.end().then(
        (saved) => {
          this.#committing = false;
          this.#complete(Buffer.alloc(0), saved.bytes, saved);
        },
        (failure: SinkFailure) => {
          this.#committing = false;
          this.#fail(new SinkFailed(failure));
        },
      );
      return;
    }
    if (this.#discardBody) {
      if (this.#bytes > HOP_BODY_LIMIT) this.#controller?.abort(new Error('hop body not read'));
      return this.#complete(Buffer.alloc(0), 0);
    }
    if (!this.#keepBody) return this.#complete(Buffer.alloc(0), this.#bytes);
    const raw = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks, this.#bytes);
    this.#chunks = [];
    const contentEncoding = firstHeaderValue(this.#head.headers['content-encoding']);
    // Most bodies come as sent: decoding waits for zlib's thread pool only when they are not.
    if (contentEncoding === undefined) return this.#complete(raw, raw.length);
    decodeBody(raw, contentEncoding, this.#settings.maxBodyBytes).then(
      (decoded) => this.#complete(decoded, decoded.length),
      (error: unknown) => this.#fail(error),
    );
  }

  /** Settles with the response and `body` formatted as --body says; `bytes` is the decoded size. With `saved`, the body is in its file. */
  #complete(body: Buffer, bytes: number, saved?: SavedBody): void {
    if (this.#settled) return;
    try {
      const { status, statusText, headers, contentType } = this.#head!;
      const { bodyEncoding, body: value } = formatBody(body, contentType, this.#settings.bodyFormat);
      // One object literal of one shape for every answer: V8 keeps it on its fast path.
      const sent = this.#sentAt !== undefined && this.#answeredAt !== undefined;
      this.#settle({
        kind: 'response',
        status,
        statusText,
        headers,
        contentType,
        bytes,
        bodyEncoding,
        body: value,
        latencyMs: this.#elapsed(),
        sentMs: sent ? this.#sentAt! - this.#startedAt : undefined,
        roundTripMs: sent ? this.#answeredAt! - this.#sentAt! : undefined,
        rawBody: this.#settings.keepRawBody === true ? body : undefined,
        saved,
      });
    } catch (error) {
      this.#fail(error);
    }
  }

  #fail(error: unknown): void {
    // While the file is being put in place, only the sink's own word ends the attempt.
    if (this.#settled || this.#committing) return;
    const reason = this.#abortReason ?? error;
    if (reason instanceof HeldBack) return this.#settle({ kind: 'held' });
    if (reason instanceof AttemptTimeout) return this.#settle(this.#failure('TIMEOUT', `timed out after ${formatDuration(this.#settings.timeoutMs)}`));
    if (reason instanceof Interrupted) return this.#settle(this.#failure('INTERRUPTED', 'interrupted while in flight'));
    if (reason instanceof BodyTooLarge)
      return this.#settle(this.#failure('BODY_TOO_LARGE', `body larger than ${this.#settings.maxBodyBytes} bytes (--max-body)`));
    if (reason instanceof SinkFailed) return this.#settle(this.#failure(reason.failure.code, reason.failure.message));
    const { code, message } = classifyError(reason);
    this.#settle(this.#failure(code, message));
  }

  #failure(code: FailureOutcome['code'], message: string): AttemptOutcome {
    return { kind: 'failure', code, message, latencyMs: this.#elapsed() };
  }

  #settle(outcome: AttemptOutcome | HeldOutcome): void {
    if (this.#settled) return;
    this.#settled = true;
    if (this.#deadline !== undefined) cancelDeadline(this.#settings.timeoutMs, this.#deadline);
    this.#unwatch?.();
    // A body that did not make it to its file leaves nothing behind: the attempt ends once its temporary file is gone.
    const sink = this.#sink;
    if (sink !== undefined && (outcome.kind !== 'response' || outcome.saved === undefined)) {
      void sink.discard().then(() => this.#resolve(outcome));
      return;
    }
    this.#resolve(outcome);
  }

  #elapsed(): number {
    return Math.round(performance.now() - this.#startedAt);
  }
}

function normalizeHeaders(raw: Record<string, string | string[] | undefined>): { [name: string]: string | string[] } {
  const headers: { [name: string]: string | string[] } = {};
  for (const name in raw) {
    const value = raw[name];
    if (value !== undefined) headers[name.toLowerCase()] = value;
  }
  return headers;
}
