-- Returns cancelled tickets' seats and GA places to sale. Idempotent per ticket.
-- ARGV: P, buyer, n seats, seats..., n ga, (ticket id, section)...
local P, buyer = ARGV[1], ARGV[2]
local n = tonumber(ARGV[3])
local freed, freed_sections, returned = {}, {}, 0
for i = 1, n do
  local seat = ARGV[3 + i]
  if redis.call('HGET', P .. 'state', seat) == '!' then
    redis.call('HDEL', P .. 'state', seat)
    local sec = redis.call('HGET', P .. 'seat', seat)
    redis.call('HINCRBY', P .. 'count', sec .. ':s', -1)
    table.insert(freed, seat)
    table.insert(freed_sections, sec)
    returned = returned + 1
  end
end
local base = 4 + n
local ga = {}
for i = 1, tonumber(ARGV[base]) do
  local ticket, sec = ARGV[base + 2 * i - 1], ARGV[base + 2 * i]
  if redis.call('SADD', P .. 'returned', ticket) == 1 then
    redis.call('HINCRBY', P .. 'ga', sec, 1)
    redis.call('HINCRBY', P .. 'count', sec .. ':s', -1)
    table.insert(ga, sec .. ':1')
    returned = returned + 1
  end
end
if returned == 0 then return 0 end
redis.call('HINCRBY', P .. 'buyer', buyer, -returned)
local version = bump(P)
redis.call('XADD', P .. 'events', '*', 'type', 'released', 'hold', '', 'seats', table.concat(freed, ','),
  'sections', table.concat(freed_sections, ','),
  'ga', table.concat(ga, ','), 'version', int(version))
return returned
