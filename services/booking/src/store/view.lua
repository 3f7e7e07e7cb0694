-- The taken seats of a performance (held by a live hold, or sold), plus counts and version.
-- ARGV: P
-- Reply: {version, {seat, 'H'|'S'}..., counts...}
local P = ARGV[1]
local state = redis.call('HGETALL', P .. 'state')
local taken = {}
local live = {}
for i = 1, #state, 2 do
  local seat, holder = state[i], state[i + 1]
  if holder == '!' then
    table.insert(taken, seat); table.insert(taken, 'S')
  else
    if live[holder] == nil then live[holder] = redis.call('EXISTS', P .. 'hold:' .. holder) == 1 end
    if live[holder] then table.insert(taken, seat); table.insert(taken, 'H') end
  end
end
return { redis.call('HGET', P .. 'meta', 'version') or '0', taken, redis.call('HGETALL', P .. 'count'),
  redis.call('HGETALL', P .. 'ga') }
