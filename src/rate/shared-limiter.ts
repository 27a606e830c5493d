/**
 * The limiter that many processes share through Redis (issue #25): one rate for every worker
 * of a run, exact in any sliding second, because every start is decided by one Lua script on
 * the Redis server, in order, on the server's clock. Workers' clocks never enter into it: a
 * refusal names the server time a start becomes possible *and* the server time now, so a worker
 * sleeps the difference on its own clock.
 *
 * Each bucket is GCRA (the generic cell rate algorithm, a token bucket written as one number):
 * its "theoretical arrival time" moves on by 1/rate with each start, and a start is allowed
 * while that time is at most `burst - 1` intervals ahead of now. As the in-process limiter
 * (limiter.ts): a bucket earns no burst before its first start, and a pause ends with it empty.
 * A start takes from all its buckets (the run's, its host's, a route's) or from none, and
 * from the quota counters it names (shared-quota.ts: what the server's quota headers say is
 * left in the window) in the same script.
 */
import type { Redis } from 'ioredis';
import { COUNTER_CHECK_LUA, COUNTER_NOTE_LUA, COUNTER_TAKE_LUA, type QuotaReport } from './shared-quota.js';

/**
 * A start allowed at `atMs`, with the sequence number it took from each quota counter named
 * (undefined for a counter of a host that sends no quota headers), or refused until
 * `retryAtMs`; times on the Redis server's clock.
 */
export type SharedTake = { ok: true; atMs: number; seqs: Array<number | undefined> } | { ok: false; retryAtMs: number; nowMs: number };

// KEYS: per GCRA bucket its rate hash, its arrival-time key and its pause key, then one key per
// quota counter (shared-quota.ts). ARGV[1]: now in ms, or '' for the server's clock (tests pass
// a time); ARGV[2]: how many GCRA buckets. Numbers go back as strings: Redis would cut a Lua
// number to an integer.
const TAKE = `
local now
if ARGV[1] ~= '' then now = tonumber(ARGV[1]) else local t = redis.call('TIME'); now = t[1] * 1000 + t[2] / 1000 end
local gcraKeys = tonumber(ARGV[2]) * 3
local readyAt = now
local moves = {}
for i = 1, gcraKeys, 3 do
  local paused = tonumber(redis.call('GET', KEYS[i + 2]) or '0')
  if paused > readyAt then readyAt = paused end
  local rate = redis.call('HMGET', KEYS[i], 'rps', 'burst')
  local rps = tonumber(rate[1])
  if rps then
    local interval = 1000 / rps
    local tolerance = (tonumber(rate[2]) - 1) * interval
    local tat = tonumber(redis.call('GET', KEYS[i + 1]) or '')
    if tat == nil then tat = now + tolerance end
    if tat - tolerance > readyAt then readyAt = tat - tolerance end
    moves[#moves + 1] = { KEYS[i + 1], math.max(tat, now) + interval, tolerance }
  end
end
local counters = {}
for i = gcraKeys + 1, #KEYS do
  local key = KEYS[i]
  ${COUNTER_CHECK_LUA}
end
if readyAt > now then return { 0, tostring(readyAt), tostring(now) } end
for _, move in ipairs(moves) do
  redis.call('SET', move[1], tostring(move[2]), 'PX', math.ceil(move[2] - now + move[3]) + 60000)
end
${COUNTER_TAKE_LUA}
return { 1, tostring(now), tostring(now), unpack(seqs) }
`;

// KEYS: the rate hash, the arrival-time key and the pause key of one bucket. ARGV: the pause in
// ms, and now as in TAKE. Returns the pause's end, server time.
const PAUSE = `
local now
if ARGV[2] ~= '' then now = tonumber(ARGV[2]) else local t = redis.call('TIME'); now = t[1] * 1000 + t[2] / 1000 end
local untilMs = now + tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[3]) or '0')
if untilMs <= current then return tostring(current) end
redis.call('SET', KEYS[3], tostring(untilMs), 'PX', math.ceil(untilMs - now) + 1)
local rate = redis.call('HMGET', KEYS[1], 'rps', 'burst')
local rps = tonumber(rate[1])
if rps then
  local tolerance = (tonumber(rate[2]) - 1) * 1000 / rps
  local tat = tonumber(redis.call('GET', KEYS[2]) or '0')
  if tat < untilMs + tolerance then redis.call('SET', KEYS[2], tostring(untilMs + tolerance), 'PX', math.ceil(untilMs - now + tolerance) + 60000) end
end
return tostring(untilMs)
`;

type Script = (...args: Array<string | number>) => Promise<unknown>;

export class RedisLimiter {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #take: Script;
  readonly #pause: Script;
  readonly #note: Script;

  /** `run` names the run: every process with the same Redis and run name shares its buckets. */
  constructor(redis: Redis, run: string) {
    this.#redis = redis;
    // One hash tag, so a Redis Cluster keeps a run's keys in one slot, as a script needs.
    this.#prefix = `ratefetch:{${run}}`;
    redis.defineCommand('ratefetchTake', { lua: TAKE });
    redis.defineCommand('ratefetchPause', { lua: PAUSE });
    redis.defineCommand('ratefetchNote', { lua: COUNTER_NOTE_LUA, numberOfKeys: 1 });
    const commands = redis as unknown as Record<'ratefetchTake' | 'ratefetchPause' | 'ratefetchNote', Script>;
    this.#take = commands.ratefetchTake.bind(redis);
    this.#pause = commands.ratefetchPause.bind(redis);
    this.#note = commands.ratefetchNote.bind(redis);
  }

  /** Sets a bucket's rate for every process of the run; Infinity removes it (no cap). */
  async setRate(id: string, rps: number, burst = 1): Promise<void> {
    if (!Number.isFinite(rps)) await this.#redis.del(this.#key('rate', id));
    else await this.#redis.hset(this.#key('rate', id), { rps: String(rps), burst: String(burst) });
  }

  /**
   * Takes one start from every bucket of `ids` and from every quota counter of `counters`, or
   * from none. `nowMs` replaces the server's clock (tests).
   */
  async tryTake(ids: readonly string[], nowMs?: number, counters: readonly string[] = []): Promise<SharedTake> {
    const keys = [...ids.flatMap((id) => this.#bucketKeys(id)), ...counters.map((id) => this.#key('window', id))];
    const [ok, at, now, ...seqs] = (await this.#take(keys.length, ...keys, nowMs ?? '', ids.length)) as [number, string, string, ...string[]];
    if (ok !== 1) return { ok: false, retryAtMs: Number(at), nowMs: Number(now) };
    return { ok: true, atMs: Number(at), seqs: seqs.map((seq) => (seq === '' ? undefined : Number(seq))) };
  }

  /** What the answer to the take numbered `seq` of counter `id` said of the quota. `nowMs` as in tryTake. */
  async noteAnswer(id: string, seq: number, report: QuotaReport, nowMs?: number): Promise<void> {
    const quota = report.kind === 'quota' ? report : undefined;
    const fields = [quota?.remaining ?? '', quota?.limit ?? '', quota?.resetInMs ?? '', quota?.resetAtMs ?? ''];
    await this.#note(this.#key('window', id), report.kind, seq, ...fields, nowMs ?? '');
  }

  /** Pauses a bucket for every process of the run for `forMs` from now; returns the end (server time). */
  async pause(id: string, forMs: number, nowMs?: number): Promise<number> {
    const keys = this.#bucketKeys(id);
    return Number(await this.#pause(keys.length, ...keys, forMs, nowMs ?? ''));
  }

  #bucketKeys(id: string): string[] {
    return [this.#key('rate', id), this.#key('tat', id), this.#key('pause', id)];
  }

  #key(kind: 'rate' | 'tat' | 'pause' | 'window', id: string): string {
    return `${this.#prefix}:${kind}:${id}`;
  }
}
