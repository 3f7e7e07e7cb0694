-- Moves a room to another state and announces it on the room's stream, in one step (two
-- replicas closing the same room announce it once). Closed is for good: the room of a cancelled
-- performance or an ended sale never lets anyone in again, and leaves the admission loop.
-- KEYS: room, events   ARGV: state
-- Returns 1 when the state changed, 0 when it already was, -1 for an unknown room, -2 when closed.
local current = redis.call('HGET', KEYS[1], 'state')
if not current then return -1 end
if current == ARGV[1] then return 0 end
if current == 'closed' then return -2 end
redis.call('HSET', KEYS[1], 'state', ARGV[1])
redis.call('XADD', KEYS[2], '*', 'type', 'state', 'state', ARGV[1])
return 1
