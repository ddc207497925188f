-- Renew a partition lease, only while it is still ours (compare and expire).
-- KEYS: 1 lease   ARGV: 1 owner token, 2 lease milliseconds
-- Returns 1 renewed, 0 the lease is gone or someone else's.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
