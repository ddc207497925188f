-- Move a detached device into its new home, once per operation id, atomically.
-- KEYS: 1 device, 2 operation, 3 from sim-devices set, 4 target devices set, 5 audit stream,
--       6 from sim, 7.. audit index lists (gateway/store/audit.py)
-- ARGV: 1 imei, 2 from_sim, 3 registered_owner, 4 to_sim, 5 to_national_id, 6 requester,
--       7 message_id, 8 operation ttl seconds, 9 operation id, 10 index cap, 11 index ttl
if redis.call('EXISTS', KEYS[2]) == 1 then
  return 'already_applied'
end
local home = redis.call('HMGET', KEYS[1], 'sim', 'registered_owner', 'national_id')
if home[1] ~= ARGV[2] or home[2] ~= ARGV[3] or (home[3] and home[3] ~= '') then
  return 'conflict'
end
-- Still detached? (the old SIM may have been reactivated since the code was sent)
local old = redis.call('HMGET', KEYS[6], 'status', 'owner')
if old[1] == 'active' and old[2] == ARGV[3] then
  return 'conflict'
end
if ARGV[5] ~= '' then
  redis.call('HDEL', KEYS[1], 'sim', 'registered_owner')
  redis.call('HSET', KEYS[1], 'national_id', ARGV[5])
else
  redis.call('HSET', KEYS[1], 'sim', ARGV[4], 'registered_owner', ARGV[3])
end
redis.call('SREM', KEYS[3], ARGV[1])
redis.call('SADD', KEYS[4], ARGV[1])
redis.call('SET', KEYS[2], 'applied', 'EX', ARGV[8])
local audit_id = redis.call('XADD', KEYS[5], 'MAXLEN', '~', 1000000, '*',
  'action', 'restore_device', 'imei', ARGV[1], 'from_sim', ARGV[2],
  'to_sim', ARGV[4], 'to_national_id', ARGV[5], 'requester', ARGV[6],
  'message_id', ARGV[7], 'operation_id', ARGV[9])
for i = 7, #KEYS do
  redis.call('LPUSH', KEYS[i], audit_id)
  redis.call('LTRIM', KEYS[i], 0, tonumber(ARGV[10]) - 1)
  redis.call('EXPIRE', KEYS[i], ARGV[11])
end
return 'applied'
