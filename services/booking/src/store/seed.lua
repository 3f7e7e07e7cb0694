-- Opens a performance's inventory once its seats are loaded (`seat`, `state` hashes written in
-- chunks before). Only the first call wins, so replicas seeding at once cannot reset counts.
-- ARGV: P, limit, ttl_ms, n sections, (section, capacity, sold, is_ga)...
local P = ARGV[1]
if redis.call('HGET', P .. 'meta', 'ready') then return 0 end
for i = 0, tonumber(ARGV[4]) - 1 do
  local sec, cap, sold, ga = ARGV[5 + 4 * i], tonumber(ARGV[6 + 4 * i]), tonumber(ARGV[7 + 4 * i]), ARGV[8 + 4 * i]
  redis.call('HSET', P .. 'count', sec .. ':c', cap, sec .. ':h', 0, sec .. ':s', sold)
  if ga == '1' then redis.call('HSET', P .. 'ga', sec, cap - sold) end
end
-- Fencing tokens must grow even across a Redis that lost everything: start from the clock.
local fence = now_ms() * 1000
local old = tonumber(redis.call('HGET', P .. 'meta', 'fence') or '0')
if old > fence then fence = old end
redis.call('HSET', P .. 'meta', 'limit', ARGV[2], 'ttl_ms', ARGV[3], 'fence', int(fence), 'version', int(fence), 'ready', 1)
return 1
