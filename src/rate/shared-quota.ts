/**
 * Quota headers shared exactly across the workers of a run (issue #25): per bucket (host or
 * route) one "left in this window" counter in Redis, taken in the same script as the GCRA
 * buckets (shared-limiter.ts), so the workers together never start more than the server said
 * remains. docs/shared-quota.md walks through why each rule is safe.
 *
 * Every take gets a sequence number. An answer says `remaining` as the server counted at its
 * request; the starts taken after that request was taken (`seq - s`) are not in it yet, so
 * what is left now is `remaining - (seq - s)`. The answers of one window all agree on that
 * figure whatever order they come back in; an answer can only overstate it when its request
 * overtook earlier ones on the way to the server, or when it was counted in a later window.
 * So an answer only lowers the counter, never raises it: no answer gives back quota that was
 * already spent.
 *
 * The counter refills at the window's end: the earliest end the answers of this window state
 * (a rounded-up reset is never before the real one). Takes of the window just ended whose
 * answers did not show them in it (in flight, or answered from a later window) may count in
 * the next window, so the refill holds them back from it: `limit - unconfirmed`. Each refill
 * starts an *epoch*; an answer to a take of an earlier epoch was judged at that refill and
 * lowers nothing (one held back that proves counted in the old window is given back, until an
 * answer of the new one sets the count). Before any answer, one request (a probe) goes alone.
 */

/** Why a take's answer is reported: read from its headers, none there, or no answer at all. */
export type QuotaReport =
  | { kind: 'quota'; remaining: number; limit: number | undefined; resetInMs: number; resetAtMs: number }
  | { kind: 'none' }
  | { kind: 'lost' };

/** How long the others wait before asking again while the first answer is awaited. */
export const COUNTER_POLL_MS = 20;
/** A probe whose worker died says nothing: after this long another goes. */
export const PROBE_EXPIRY_MS = 10_000;
/** With no window length seen yet, a counter that cannot refill waits this long. */
const FALLBACK_WINDOW_MS = 1_000;
/**
 * Two answers name the same window when their stated resets are this close: an absolute reset
 * (epoch seconds or ms, an HTTP-date) names every answer of a window alike, to the millisecond.
 */
const EXACT_RESET_MS = 0.5;
/**
 * A reset in whole seconds from now (or rounded up to one) names the window's end to within a
 * second, whichever answer of it says so; windows longer than this tell apart at that slack.
 */
const ROUNDED_RESET_MS = 1_050;
const LONG_WINDOW_MS = 3 * ROUNDED_RESET_MS;
/** A counter outlives its last use by a day, then Redis drops it. */
const COUNTER_TTL_MS = 86_400_000;

/**
 * Lua for TAKE (shared-limiter.ts), run for each counter key after the GCRA buckets: refills a
 * counter whose window is over (committed whether or not this start goes), and pushes onto
 * `counters` what the start would take, or moves `readyAt` when the counter has nothing left.
 * Expects `now`, `readyAt` and `counters` in scope.
 */
export const COUNTER_CHECK_LUA = `
local c = redis.call('HMGET', key, 'none', 'seq', 'left', 'limit', 'endsAt', 'epochTakes', 'confirmed', 'maxDelay', 'epochSeq', 'epochReset')
if c[1] then
  counters[#counters + 1] = false
else
  local seq = tonumber(c[2]) or 0
  local left = tonumber(c[3]) or 1
  local limit = tonumber(c[4])
  local endsAt = tonumber(c[5])
  if endsAt and now >= endsAt then
    if limit then left = limit - ((tonumber(c[6]) or 0) - (tonumber(c[7]) or 0)) else left = 1 end
    endsAt = nil
    if limit and left < 1 then endsAt = now + (tonumber(c[8]) or ${FALLBACK_WINDOW_MS}) end
    redis.call('HSET', key, 'left', left, 'epochSeq', seq, 'epochTakes', 0, 'confirmed', 0, 'prevSeq', c[9] or 0)
    if c[10] then redis.call('HSET', key, 'prevReset', c[10]) else redis.call('HDEL', key, 'prevReset') end
    redis.call('HDEL', key, 'epochReset', 'lowered')
    if endsAt then redis.call('HSET', key, 'endsAt', tostring(endsAt)) else redis.call('HDEL', key, 'endsAt') end
  end
  if left < 1 then
    local at = now + ${COUNTER_POLL_MS}
    if limit and endsAt then at = endsAt end
    if at > readyAt then readyAt = at end
  end
  counters[#counters + 1] = { key, seq + 1, left - 1, limit }
end
`;

/** Lua for TAKE once the start goes: takes one from each counter; returns the sequence numbers. */
export const COUNTER_TAKE_LUA = `
local seqs = {}
for i, counter in ipairs(counters) do
  if counter then
    local key = counter[1]
    redis.call('HSET', key, 'seq', counter[2], 'left', counter[3])
    redis.call('HINCRBY', key, 'epochTakes', 1)
    if not counter[4] then redis.call('HSET', key, 'endsAt', tostring(now + ${PROBE_EXPIRY_MS})) end
    redis.call('PEXPIRE', key, ${COUNTER_TTL_MS})
    seqs[i] = tostring(counter[2])
  else
    seqs[i] = ''
  end
end
`;

/**
 * NOTE: one take's answer. KEYS[1]: the counter. ARGV: kind, the take's sequence number,
 * remaining, limit ('' if unsaid), ms to the stated reset, the stated reset as epoch ms, now
 * ('' for the server's clock).
 */
export const COUNTER_NOTE_LUA = `
local now
if ARGV[7] ~= '' then now = tonumber(ARGV[7]) else local t = redis.call('TIME'); now = t[1] * 1000 + t[2] / 1000 end
local key = KEYS[1]
local kind = ARGV[1]
local c = redis.call('HMGET', key, 'none', 'seq', 'left', 'limit', 'endsAt', 'epochSeq', 'maxDelay', 'epochReset', 'prevSeq', 'prevReset', 'lowered')
if not c[1] and not c[2] then return 0 end
local maxDelay = tonumber(c[7]) or 0
if kind == 'quota' then maxDelay = math.max(maxDelay, tonumber(ARGV[5])) end
local same = ${EXACT_RESET_MS}
if maxDelay > ${LONG_WINDOW_MS} then same = ${ROUNDED_RESET_MS} end
if kind == 'none' then
  if not c[4] then redis.call('HSET', key, 'none', '1') end
  return 0
end
if c[1] then
  if kind == 'quota' then redis.call('DEL', key) end
  return 0
end
local s = tonumber(ARGV[2])
if s <= (tonumber(c[6]) or 0) then
  -- Held back at the refill as in flight; if it was counted in the old window after all, and
  -- no answer has set the count since (it would not count this take), the new window has it.
  local prevReset = tonumber(c[10])
  if kind == 'quota' and s > (tonumber(c[9]) or 0) and prevReset and not c[11] and math.abs(tonumber(ARGV[6]) - prevReset) <= same then
    redis.call('HINCRBY', key, 'left', 1)
  end
  return 0
end
local left = tonumber(c[3]) or 0
if kind == 'lost' then
  if not c[4] then
    redis.call('HSET', key, 'left', 1)
    redis.call('HDEL', key, 'endsAt')
  elseif left < 1 and not c[5] then
    redis.call('HSET', key, 'endsAt', tostring(now + (tonumber(c[7]) or ${FALLBACK_WINDOW_MS})))
  end
  return 0
end
local remaining = tonumber(ARGV[3])
local delay = tonumber(ARGV[5])
local resetAt = tonumber(ARGV[6])
local limit = tonumber(ARGV[4]) or math.max(tonumber(c[4]) or 0, remaining + 1)
local nowLeft = remaining - ((tonumber(c[2]) or 0) - s)
if not c[4] then
  redis.call('HSET', key, 'limit', limit, 'left', nowLeft, 'confirmed', 1, 'maxDelay', tostring(delay), 'endsAt', tostring(now + delay), 'epochReset', tostring(resetAt))
  return 1
end
-- An answer at or below the count sets it as the server counts: held-back takes no longer matter.
if nowLeft <= left then redis.call('HSET', key, 'left', nowLeft, 'lowered', '1') end
local endsAt = tonumber(c[5])
if endsAt == nil or now + delay < endsAt then redis.call('HSET', key, 'endsAt', tostring(now + delay)) end
redis.call('HSET', key, 'limit', limit, 'maxDelay', tostring(maxDelay))
local epochReset = tonumber(c[8])
if epochReset == nil or resetAt < epochReset - same then
  redis.call('HSET', key, 'epochReset', tostring(resetAt), 'confirmed', 1)
elseif resetAt <= epochReset + same then
  redis.call('HINCRBY', key, 'confirmed', 1)
  if resetAt < epochReset then redis.call('HSET', key, 'epochReset', tostring(resetAt)) end
end
return 1
`;
