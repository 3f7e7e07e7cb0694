-- An admitted buyer holds seats: their slot counts for the rest of their admission (admit.lua
-- counted it only until their first hold was due). Nothing for an entry whose slot already ended.
-- KEYS: active, admitted_until
-- ARGV: entry_id
local until_ms = redis.call('HGET', KEYS[2], ARGV[1])
if not until_ms then return 0 end
return redis.call('ZADD', KEYS[1], 'XX', 'GT', until_ms, ARGV[1])
