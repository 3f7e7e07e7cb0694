-- The sweeper: ends holds whose TTL ran out (their seats are already free) so GA places,
-- allowances and counts come back and the bus hears `HoldExpired`.
-- ARGV: P, max
-- Returns {holds ended, when the next hold runs out (ms; -1 when none is left)}.
local n = reclaim(ARGV[1], now_ms(), tonumber(ARGV[2]))
local next = redis.call('ZRANGE', ARGV[1] .. 'expiring', 0, 0, 'WITHSCORES')
return {n, tonumber(next[2]) or -1}
