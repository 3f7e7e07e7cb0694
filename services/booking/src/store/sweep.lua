-- The sweeper: ends holds whose TTL ran out (their seats are already free) so GA places,
-- allowances and counts come back and the bus hears `HoldExpired`.
-- ARGV: P, max
return reclaim(ARGV[1], now_ms(), tonumber(ARGV[2]))
