-- Checkout: keeps a live hold until the payment deadline, if it still has every seat.
-- ARGV: P, hold id, buyer, until_ms
-- Replies: {'OK', fence} | {'EXPIRED'} | {'NOT_YOURS'} | {'LOST', seats...}
local P, id, buyer, until_ms = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local info = read_info(P, id)
if not info or redis.call('EXISTS', P .. 'hold:' .. id) == 0 then return { 'EXPIRED' } end
if info.buyer ~= buyer then return { 'NOT_YOURS' } end
local lost = {}
for _, seat in ipairs(info.seats) do
  if redis.call('HGET', P .. 'state', seat) ~= id then table.insert(lost, seat) end
end
if #lost > 0 then return { 'LOST', unpack(lost) } end
if until_ms > info.expires then
  redis.call('PEXPIREAT', P .. 'hold:' .. id, until_ms)
  redis.call('ZADD', P .. 'expiring', until_ms, id)
  info.expires = until_ms
  write_info(P, id, info)
end
return { 'OK', info.fence }
