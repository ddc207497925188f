-- Append one audit record and index it by the hashed values it names, together.
-- KEYS: 1 audit stream, 2.. index lists (one per IMEI, number or national ID named)
-- ARGV: 1 index cap, 2 index ttl seconds, 3.. the record's fields as (name, value) pairs
local fields = {}
for i = 3, #ARGV do
  fields[#fields + 1] = ARGV[i]
end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', 1000000, '*', unpack(fields))
for i = 2, #KEYS do
  redis.call('LPUSH', KEYS[i], id)
  redis.call('LTRIM', KEYS[i], 0, tonumber(ARGV[1]) - 1)
  redis.call('EXPIRE', KEYS[i], ARGV[2])
end
return id
