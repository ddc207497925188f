-- Count and forget the concatenated MO whose parts stopped coming: their parts hash has expired
-- by its TTL (store_mo.lua scores each pending hash with that moment, and removes it once the
-- message is complete), so what is due here never completed.
-- KEYS: 1 pending parts (sorted set), 2 partition stats hash
-- ARGV: 1 now, 2 at most this many at once
-- Returns how many were dropped.
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
if #due == 0 then
  return 0
end
redis.call('ZREM', KEYS[1], unpack(due))
redis.call('HINCRBY', KEYS[2], 'mo_parts_expired', #due)
return #due
