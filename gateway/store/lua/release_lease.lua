-- Hand a partition lease back, only if it is still ours (compare and delete).
-- KEYS: 1 lease   ARGV: 1 owner token
-- Returns 1 released, 0 the lease was gone or someone else's.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
