-- Move a detached device into the requester's home, once per operation id, atomically.
-- The caller read the requester SIM's owner to name the keys; it is checked again here.
-- KEYS: 1 device, 2 operation, 3 from sim-devices set, 4 target devices set, 5 audit stream,
--       6 from sim, 7 requester sim, 8 owner's cartable set, 9 owner's person,
--       10.. audit index lists (gateway/store/audit.py)
-- ARGV: 1 imei, 2 from_sim, 3 owner (of the requester's SIM), 4 requester, 5 destination
--       ('sim_cartable' | 'national_id_cartable'), 6 message_id, 7 operation ttl seconds,
--       8 operation id, 9 index cap, 10 index ttl
if redis.call('EXISTS', KEYS[2]) == 1 then
  return 'already_applied'
end
local requester = redis.call('HMGET', KEYS[7], 'status', 'owner')
if ARGV[3] == '' or requester[1] ~= 'active' or requester[2] ~= ARGV[3] then
  return 'conflict'
end
local into_national_id = ARGV[5] == 'national_id_cartable'
if into_national_id and (redis.call('HGET', KEYS[9], 'cartable') ~= '1'
    or redis.call('SISMEMBER', KEYS[8], ARGV[4]) == 0) then
  return 'conflict'
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
local to_sim, to_national_id = ARGV[4], ''
if into_national_id then
  to_sim, to_national_id = '', ARGV[3]
  redis.call('HDEL', KEYS[1], 'sim', 'registered_owner')
  redis.call('HSET', KEYS[1], 'national_id', ARGV[3])
else
  redis.call('HSET', KEYS[1], 'sim', ARGV[4], 'registered_owner', ARGV[3])
end
redis.call('SREM', KEYS[3], ARGV[1])
redis.call('SADD', KEYS[4], ARGV[1])
redis.call('SET', KEYS[2], 'applied', 'EX', ARGV[7])
local audit_id = redis.call('XADD', KEYS[5], 'MAXLEN', '~', 1000000, '*',
  'action', 'restore_device', 'imei', ARGV[1], 'from_sim', ARGV[2],
  'to_sim', to_sim, 'to_national_id', to_national_id, 'requester', ARGV[4],
  'message_id', ARGV[6], 'operation_id', ARGV[8])
for i = 10, #KEYS do
  redis.call('LPUSH', KEYS[i], audit_id)
  redis.call('LTRIM', KEYS[i], 0, tonumber(ARGV[9]) - 1)
  redis.call('EXPIRE', KEYS[i], ARGV[10])
end
return 'applied'
