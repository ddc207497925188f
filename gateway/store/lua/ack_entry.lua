-- Acknowledge and delete a handled stream entry together (the sender's "done"): one call,
-- coalesced with the other turns' commands (gateway/store/batching.py), atomic like a MULTI.
-- KEYS: 1 stream; ARGV: 1 group, 2 entry id
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
return redis.call('XDEL', KEYS[1], ARGV[2])
