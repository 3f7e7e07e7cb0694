-- Holds seats and GA places all-or-nothing for one buyer.
-- ARGV: P, hold id, buyer, idempotency key ('' = none), n seats, seats..., n ga, (section, qty)...
-- Replies: {'OK', fence, expires_ms, version} | {'SAME', hold id} | {'TAKEN', seats...}
--   | {'UNKNOWN', seat} | {'GA_SHORT', section, available} | {'LIMIT', current, limit}
--   | {'NOT_READY'} | {'CLOSED'}
local P, id, buyer, idem = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local meta = redis.call('HMGET', P .. 'meta', 'ready', 'limit', 'ttl_ms', 'closed')
if not meta[1] then return { 'NOT_READY' } end
if meta[4] == '1' then return { 'CLOSED' } end
local now = now_ms()
if idem ~= '' then
  local previous = redis.call('GET', P .. 'idem:' .. buyer .. ':' .. idem)
  if previous and redis.call('EXISTS', P .. 'hold:' .. previous) == 1 then return { 'SAME', previous } end
end
reclaim(P, now, 16)

local n_seats = tonumber(ARGV[5])
local seats, sections, taken = {}, {}, {}
for i = 1, n_seats do
  local seat = ARGV[5 + i]
  local sec = redis.call('HGET', P .. 'seat', seat)
  if not sec then return { 'UNKNOWN', seat } end
  local holder = redis.call('HGET', P .. 'state', seat)
  if holder and (holder == '!' or redis.call('EXISTS', P .. 'hold:' .. holder) == 1) then
    table.insert(taken, seat)
  end
  seats[i], sections[i] = seat, sec
end
if #taken > 0 then return { 'TAKEN', unpack(taken) } end

local base = 6 + n_seats
local ga = {}
local wanted = n_seats
for i = 1, tonumber(ARGV[base]) do
  local sec, qty = ARGV[base + 2 * i - 1], tonumber(ARGV[base + 2 * i])
  local available = tonumber(redis.call('HGET', P .. 'ga', sec) or '-1')
  if available < 0 then return { 'UNKNOWN', sec } end
  if available < qty then return { 'GA_SHORT', sec, available } end
  table.insert(ga, { sec, qty })
  wanted = wanted + qty
end

local limit = tonumber(meta[2] or '0')
local current = tonumber(redis.call('HGET', P .. 'buyer', buyer) or '0')
if limit > 0 and current + wanted > limit then return { 'LIMIT', current, limit } end

-- Everything is free: take it all.
local ttl = tonumber(meta[3])
local expires = now + ttl
local fence = redis.call('HINCRBY', P .. 'meta', 'fence', 1)
redis.call('SET', P .. 'hold:' .. id, buyer, 'PX', ttl)
for i, seat in ipairs(seats) do
  redis.call('HSET', P .. 'state', seat, id)
  redis.call('HINCRBY', P .. 'count', sections[i] .. ':h', 1)
end
for _, g in ipairs(ga) do
  redis.call('HINCRBY', P .. 'ga', g[1], -g[2])
  redis.call('HINCRBY', P .. 'count', g[1] .. ':h', g[2])
end
redis.call('HINCRBY', P .. 'buyer', buyer, wanted)
write_info(P, id, { buyer = buyer, fence = fence, expires = expires, seats = seats, ga = ga })
redis.call('ZADD', P .. 'expiring', expires, id)
if idem ~= '' then redis.call('SET', P .. 'idem:' .. buyer .. ':' .. idem, id, 'PX', ttl) end
local version = bump(P)
local ga_text = {}
for _, g in ipairs(ga) do table.insert(ga_text, g[1] .. ':' .. g[2]) end
redis.call('XADD', P .. 'events', '*', 'type', 'held', 'hold', id, 'seats', table.concat(seats, ','),
  'sections', table.concat(sections, ','),
  'ga', table.concat(ga_text, ','), 'expires', int(expires), 'version', int(version), 'buyer', buyer)
return { 'OK', fence, expires, version }
