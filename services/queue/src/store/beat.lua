-- The buyer of an entry is still there: their heartbeat, by the server clock (the one admit.lua
-- judges it by, whichever replica wrote it). Only for an entry with a heartbeat already (joined,
-- not yet served) and, when a buyer is named, only for that buyer's own entry.
-- KEYS: heartbeat, entry_buyer
-- ARGV: entry_id, buyer ('' = any)
if ARGV[2] ~= '' and redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[2] then return 0 end
local t = redis.call('TIME')
return redis.call('ZADD', KEYS[1], 'XX', t[1] * 1000 + math.floor(t[2] / 1000), ARGV[1])
