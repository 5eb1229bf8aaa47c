/**
 * The token bucket of a shared rate limit, kept in Redis and changed only by this Lua
 * script, so every take is atomic however many vanes ask at once. One call takes up to
 * `n` whole tokens (a vane's batch, see lease-table.ts) and answers how many it got, or,
 * with a negative `n`, gives `-n` unused ones back (capped at the burst).
 *
 * The bucket is a hash {t: tokens, at: ms} refilled from Redis's own clock (TIME), so
 * the vanes' clocks need not agree. It expires once it would be full again: a missing
 * bucket starts full, so forgetting it then changes nothing.
 */
import { createHash } from "node:crypto";

export const BUCKET_SCRIPT = `
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local n = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local b = redis.call('HMGET', KEYS[1], 't', 'at')
local tokens = tonumber(b[1])
local at = tonumber(b[2])
if tokens == nil or at == nil then
  tokens = burst
elseif now > at then
  tokens = math.min(burst, tokens + (now - at) * rate / 1000)
end
local got = 0
if n >= 0 then
  got = math.max(0, math.min(n, math.floor(tokens)))
  tokens = tokens - got
else
  tokens = math.min(burst, tokens - n)
end
redis.call('HSET', KEYS[1], 't', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return got
`;

/** What EVALSHA names the script by. */
export const BUCKET_SHA = createHash("sha1").update(BUCKET_SCRIPT).digest("hex");

/** How long an untouched bucket is kept: until it would be full again, and a second more. */
export function bucketTtlMs(rate: number, burst: number): number {
  return Math.ceil((burst / rate) * 1000) + 1000;
}
