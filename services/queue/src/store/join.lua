-- Join a waiting room, idempotently: one place per buyer, whatever device asks.
-- KEYS: room, buyers, waiting, prequeue, heartbeat, entry_buyer, status
-- ARGV: buyer_id, new_entry_id
-- KEYS (continued): tokens
-- Returns {outcome, entry_id, status, ahead, waiting, token, rate, remaining, state, opens_at} with outcome
-- 'joined' | 'existing' (the place, so a join needs no second round trip), or {'error', reason}.
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {'error', 'unknown_sale'} end
if state == 'scheduled' then return {'error', 'not_open'} end
if state == 'closed' or state == 'sold_out' then return {'error', state} end

local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local function place(outcome, entry)
  local rank = redis.call('ZRANK', KEYS[3], entry)
  local room = redis.call('HMGET', KEYS[1], 'rate', 'remaining', 'opens_at')
  return {outcome, entry, redis.call('HGET', KEYS[7], entry) or '', rank or -1,
          redis.call('ZCARD', KEYS[3]), redis.call('HGET', KEYS[8], entry) or '',
          room[1] or '0', room[2] or '', state, room[3] or ''}
end

local existing = redis.call('HGET', KEYS[2], ARGV[1])
if existing then
  redis.call('ZADD', KEYS[5], now, existing)
  return place('existing', existing)
end

local entry = ARGV[2]
redis.call('HSET', KEYS[2], ARGV[1], entry)
redis.call('HSET', KEYS[6], entry, ARGV[1])
redis.call('ZADD', KEYS[5], now, entry)
if state == 'pre_queue' then
  -- Order decided at sale open by the fair draw.
  redis.call('SADD', KEYS[4], entry)
  redis.call('HSET', KEYS[7], entry, 'prequeue')
else
  -- After open: first come, first served, behind the whole pre-queue (ranks below 1e12).
  local rank = 1e12 + redis.call('HINCRBY', KEYS[1], 'seq', 1)
  redis.call('ZADD', KEYS[3], rank, entry)
  redis.call('HSET', KEYS[7], entry, 'waiting')
end
return place('joined', entry)
