-- Admit the next buyers, atomically: at most the configured rate (a token bucket refilled from
-- the server clock, so replicas on other machines agree) and never beyond the cap on active
-- shoppers. Buyers whose heartbeat is older than the grace period lose their turn.
-- Safe with several queue replicas: each call is one script, so no buyer is admitted twice.
-- KEYS: room, waiting, heartbeat, status, active, entry_buyer, events, admitted_until
-- ARGV: max_batch, max_skip, first_hold_ms
-- An admitted buyer's slot counts until their first hold is due (first_hold_ms, at most the
-- admission); their first hold keeps it for the rest of the admission (shop.lua). A buyer who
-- never shops — gone, never saw the news, found nothing together — stops blocking the line then.
-- Returns a flat list: how many still wait, then entry_id, buyer_id, expires_ms for each admitted
-- (nothing at all when the room is not open).
local r = redis.call('HMGET', KEYS[1], 'state', 'rate', 'cap', 'tokens', 'refill_at', 'grace_ms', 'ttl_ms', 'remaining', 'per_buyer', 'held')
local state, rate, cap = r[1], tonumber(r[2]) or 0, tonumber(r[3]) or 0
if state ~= 'open' then return {} end
local grace, ttl = tonumber(r[6]) or 60000, tonumber(r[7]) or 600000

local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)

-- Admissions that lapsed free their slot.
redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', now)
-- Nobody waiting: nothing to write (the bucket below is full again by the next admission anyway).
if redis.call('ZCARD', KEYS[2]) == 0 then return {'0'} end
local active = redis.call('ZCARD', KEYS[5])

-- Token bucket: `rate` per second, at most one second's worth saved up.
local tokens = tonumber(r[4]) or 0
local refill_at = tonumber(r[5]) or now
tokens = math.min(rate, tokens + (now - refill_at) / 1000 * rate)

local allowed = math.min(math.floor(tokens), cap - active, tonumber(ARGV[1]))
-- Inventory-aware: when the shoppers already inside could buy everything left, admitting more
-- only makes people wait on a seat map with nothing to hold. Shoppers who hold have taken their
-- places out of `remaining` already, so the places they count against are remaining + held:
-- `active` buyers of `per_buyer` places each fill that. (Counting holders against `remaining`
-- alone stopped a stadium rehearsal's admissions with 6,000 places free.)
local remaining, per_buyer, held = tonumber(r[8]), tonumber(r[9]) or 2, tonumber(r[10]) or 0
if remaining ~= nil then
  allowed = math.min(allowed, math.max(math.ceil((remaining + held) / per_buyer) - active, 0))
end
local out = {}
local admitted, skipped = 0, 0
local max_skip = tonumber(ARGV[2])
while admitted < allowed and skipped < max_skip do
  local head = redis.call('ZRANGE', KEYS[2], 0, 0)
  if #head == 0 then break end
  local entry = head[1]
  redis.call('ZREM', KEYS[2], entry)
  redis.call('HINCRBY', KEYS[1], 'served', 1)
  local beat = tonumber(redis.call('ZSCORE', KEYS[3], entry))
  if beat == nil or now - beat > grace then
    redis.call('HSET', KEYS[4], entry, 'abandoned')
    redis.call('HINCRBY', KEYS[1], 'abandoned', 1)
    skipped = skipped + 1
  else
    local expires = now + ttl
    redis.call('HSET', KEYS[4], entry, 'admitted')
    redis.call('ZADD', KEYS[5], math.min(expires, now + tonumber(ARGV[3])), entry)
    redis.call('HSET', KEYS[8], entry, expires)
    local buyer = redis.call('HGET', KEYS[6], entry)
    out[#out + 1] = entry
    out[#out + 1] = buyer
    out[#out + 1] = tostring(expires)
    -- The audit event, in the same script as the admission itself.
    redis.call('XADD', KEYS[7], '*', 'type', 'admitted', 'entry', entry, 'buyer', buyer, 'expires', tostring(expires))
    admitted = admitted + 1
  end
end

redis.call('HSET', KEYS[1], 'tokens', tostring(tokens - admitted), 'refill_at', now)
if admitted > 0 then redis.call('HINCRBY', KEYS[1], 'admitted', admitted) end
table.insert(out, 1, tostring(redis.call('ZCARD', KEYS[2])))
return out
