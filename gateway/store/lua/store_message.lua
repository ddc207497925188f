-- Store a whole message (from an HTTP aggregator) in its partition stream, once per key.
-- KEYS: 1 inbound stream, 2 seen marker
-- ARGV: 1 marker ttl seconds, 2.. field/value pairs of the stream entry
-- Returns 1 stored, 0 already stored (the aggregator sent the same request again).
if not redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[1]) then
  return 0
end
local entry = {}
for i = 2, #ARGV do
  entry[#entry + 1] = ARGV[i]
end
redis.call('XADD', KEYS[1], '*', unpack(entry))
return 1
