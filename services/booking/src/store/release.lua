-- Ends a live hold now (buyer cancel, leave, or an unpaid order's end). Idempotent.
-- ARGV: P, hold id, buyer ('' = any: the service releasing its own order's hold)
-- Replies: {'RELEASED', seats...} | {'GONE'} | {'NOT_YOURS'}
local P, id, buyer = ARGV[1], ARGV[2], ARGV[3]
local info = read_info(P, id)
if not info then return { 'GONE' } end
if buyer ~= '' and info.buyer ~= buyer then return { 'NOT_YOURS' } end
local kind = 'released'
if redis.call('EXISTS', P .. 'hold:' .. id) == 0 then kind = 'expired' end
local freed = end_hold(P, id, info, kind)
if kind == 'expired' then return { 'GONE' } end
return { 'RELEASED', unpack(freed) }
