-- Shared by every booking script (prepended at load time). All keys of one performance share
-- the hash tag in `P`, so a script touches one Redis Cluster shard.
--
--   P..'meta'      ready, limit, ttl_ms, version, fence, closed
--   P..'seat'      seat -> section, for every sellable seat
--   P..'state'     seat -> hold id, or '!' once sold (absent = free)
--   P..'hold:'..id exists while the hold is live; its TTL *is* the hold's expiry
--   P..'info'      hold id -> buyer \t fence \t expires_ms \t seats \t ga   (until swept)
--   P..'expiring'  hold id scored by expiry, for the sweeper
--   P..'ga'        GA section -> places available
--   P..'count'     '<section>:c|h|s' -> capacity, held, sold
--   P..'buyer'     buyer -> places held or bought (the per-buyer limit)
--   P..'events'    changes for the bus, relayed by the event relay

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Integers as text without Lua's float formatting (fencing tokens are 16 digits).
local function int(n)
  return string.format('%.0f', n)
end

local function split(s, sep)
  local out = {}
  if s == nil or s == '' then return out end
  for part in string.gmatch(s, '([^' .. sep .. ']+)') do table.insert(out, part) end
  return out
end

-- A hold's record: buyer, fence, expiry, seats, and GA 'section:qty' pairs.
local function read_info(P, id)
  local raw = redis.call('HGET', P .. 'info', id)
  if not raw then return nil end
  local f = split(raw, '\t')
  local info = { buyer = f[1], fence = f[2], expires = tonumber(f[3]), seats = {}, ga = {} }
  for i = 4, #f do
    local kind, body = string.sub(f[i], 1, 1), string.sub(f[i], 3)
    if kind == 's' then info.seats = split(body, ',') end
    if kind == 'g' then
      for _, pair in ipairs(split(body, ',')) do
        local sec, qty = string.match(pair, '^(.*):(%d+)$')
        table.insert(info.ga, { sec, tonumber(qty) })
      end
    end
  end
  return info
end

local function write_info(P, id, info)
  local ga = {}
  for _, g in ipairs(info.ga) do table.insert(ga, g[1] .. ':' .. g[2]) end
  redis.call('HSET', P .. 'info', id, info.buyer .. '\t' .. int(info.fence) .. '\t' .. int(info.expires)
    .. '\ts:' .. table.concat(info.seats, ',') .. '\tg:' .. table.concat(ga, ','))
end

local function places(info)
  local n = #info.seats
  for _, g in ipairs(info.ga) do n = n + g[2] end
  return n
end

local function bump(P)
  return redis.call('HINCRBY', P .. 'meta', 'version', 1)
end

-- Ends a hold: frees the seats it still has, returns its GA places, forgets it, and records
-- `kind` ('released' or 'expired') for the bus. Seats another hold or a sale took are left alone.
local function end_hold(P, id, info, kind)
  local freed, freed_sections = {}, {}
  for _, seat in ipairs(info.seats) do
    if redis.call('HGET', P .. 'state', seat) == id then
      redis.call('HDEL', P .. 'state', seat)
      local sec = redis.call('HGET', P .. 'seat', seat)
      redis.call('HINCRBY', P .. 'count', sec .. ':h', -1)
      table.insert(freed, seat)
      table.insert(freed_sections, sec)
    end
  end
  for _, g in ipairs(info.ga) do
    redis.call('HINCRBY', P .. 'ga', g[1], g[2])
    redis.call('HINCRBY', P .. 'count', g[1] .. ':h', -g[2])
  end
  redis.call('HINCRBY', P .. 'buyer', info.buyer, -places(info))
  redis.call('DEL', P .. 'hold:' .. id)
  redis.call('HDEL', P .. 'info', id)
  redis.call('ZREM', P .. 'expiring', id)
  local version = bump(P)
  local ga = {}
  for _, g in ipairs(info.ga) do table.insert(ga, g[1] .. ':' .. g[2]) end
  redis.call('XADD', P .. 'events', '*', 'type', kind, 'hold', id, 'seats', table.concat(freed, ','),
    'sections', table.concat(freed_sections, ','), 'ga', table.concat(ga, ','), 'version', int(version),
    'buyer', info.buyer)
  return freed
end

-- Ends up to `max` holds whose TTL ran out. Their seats are already free (the hold key
-- expired); this returns GA places, the buyer's allowance, the counts, and tells the bus.
local function reclaim(P, now, max)
  local due = redis.call('ZRANGEBYSCORE', P .. 'expiring', '-inf', now, 'LIMIT', 0, max)
  local n = 0
  for _, id in ipairs(due) do
    -- The key's own TTL is the truth; a hold extended a moment ago is not due yet.
    if redis.call('EXISTS', P .. 'hold:' .. id) == 0 then
      local info = read_info(P, id)
      if info then end_hold(P, id, info, 'expired') else redis.call('ZREM', P .. 'expiring', id) end
      n = n + 1
    end
  end
  return n
end
