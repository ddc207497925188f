-- Recover a national-ID cartable password (R3, R5): add the requester's SIM if asked, set the
-- new password hash, once per operation id. The password is drawn from the operation's seed,
-- so a retried operation texts the same password and changes nothing here.
-- KEYS: 1 person, 2 cartable set, 3 operation, 4 audit stream, 5 national-ID devices set,
--       6.. audit index lists (gateway/store/audit.py)
-- ARGV: 1 national_id, 2 requester, 3 add requester ('1' or '0'), 4 password hash,
--       5 operation ttl seconds, 6 message_id, 7 operation id, 8 index cap, 9 index ttl
if redis.call('EXISTS', KEYS[3]) == 1 then
  return {'already_applied', redis.call('SCARD', KEYS[5])}
end
if redis.call('HGET', KEYS[1], 'cartable') ~= '1' then
  return {'conflict', 0}
end
if ARGV[3] == '1' then
  redis.call('SADD', KEYS[2], ARGV[2])
end
redis.call('HSET', KEYS[1], 'password_hash', ARGV[4])
redis.call('SET', KEYS[3], 'applied', 'EX', ARGV[5])
local audit_id = redis.call('XADD', KEYS[4], 'MAXLEN', '~', 1000000, '*',
  'action', 'recover_password', 'national_id', ARGV[1], 'requester', ARGV[2],
  'sim_added', ARGV[3], 'message_id', ARGV[6], 'operation_id', ARGV[7])
for i = 6, #KEYS do
  redis.call('LPUSH', KEYS[i], audit_id)
  redis.call('LTRIM', KEYS[i], 0, tonumber(ARGV[8]) - 1)
  redis.call('EXPIRE', KEYS[i], ARGV[9])
end
return {'applied', redis.call('SCARD', KEYS[5])}
