-- Close the pre-queue: from now on joiners go FIFO behind it. The pre-queue set is frozen and
-- the room stays 'opening' (nobody admitted) until the drawn order is written.
-- KEYS: room   ARGV: (none)
-- Returns the previous state.
local state = redis.call('HGET', KEYS[1], 'state')
if state == 'pre_queue' or state == 'scheduled' then
  redis.call('HSET', KEYS[1], 'state', 'opening')
end
return state
