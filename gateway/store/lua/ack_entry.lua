-- Acknowledge and delete a handled stream entry together (the sender's "done"): one call,
-- coalesced with the other turns' commands (gateway/store/batching.py), atomic like a MULTI.
-- KEYS: 1 stream, 2 (sessionless lane) the recipient's count of replies queued there
-- ARGV: 1 group, 2 entry id
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
local deleted = redis.call('XDEL', KEYS[1], ARGV[2])
if KEYS[2] and deleted == 1 and redis.call('DECR', KEYS[2]) <= 0 then
  redis.call('DEL', KEYS[2])
end
return deleted
