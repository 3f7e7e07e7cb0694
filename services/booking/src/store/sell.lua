-- Records seats and GA places as sold after PostgreSQL confirmed the order (PostgreSQL decided;
-- this only brings the live view in line). Idempotent.
-- ARGV: P, hold id, buyer, n seats, seats..., n ga, (section, qty)...
local P, id, buyer = ARGV[1], ARGV[2], ARGV[3]
local info = read_info(P, id)
local n = tonumber(ARGV[4])
local sold = 0
for i = 1, n do
  local seat = ARGV[4 + i]
  local sec = redis.call('HGET', P .. 'seat', seat)
  local holder = redis.call('HGET', P .. 'state', seat)
  if sec and holder ~= '!' then
    if holder then redis.call('HINCRBY', P .. 'count', sec .. ':h', -1) end
    redis.call('HSET', P .. 'state', seat, '!')
    redis.call('HINCRBY', P .. 'count', sec .. ':s', 1)
    sold = sold + 1
  end
end
local base = 5 + n
if info then
  -- The hold's GA places move from held to sold; its allowance stays used.
  for _, g in ipairs(info.ga) do
    redis.call('HINCRBY', P .. 'count', g[1] .. ':h', -g[2])
    redis.call('HINCRBY', P .. 'count', g[1] .. ':s', g[2])
  end
  redis.call('DEL', P .. 'hold:' .. id)
  redis.call('HDEL', P .. 'info', id)
  redis.call('ZREM', P .. 'expiring', id)
elseif redis.call('SADD', P .. 'sold_holds', id) == 1 then
  -- The hold ended before the payment settled: take the places again.
  local places = sold
  for i = 1, tonumber(ARGV[base]) do
    local sec, qty = ARGV[base + 2 * i - 1], tonumber(ARGV[base + 2 * i])
    redis.call('HINCRBY', P .. 'ga', sec, -qty)
    redis.call('HINCRBY', P .. 'count', sec .. ':s', qty)
    places = places + qty
  end
  redis.call('HINCRBY', P .. 'buyer', buyer, places)
end
if info then redis.call('SADD', P .. 'sold_holds', id) end
local version = bump(P)
redis.call('XADD', P .. 'events', '*', 'type', 'sold', 'hold', id, 'version', int(version))
return sold
