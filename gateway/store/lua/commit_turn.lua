-- Commit one handled MO: new subscriber state, its replies, and the inbound acknowledgement,
-- together, and only while this process still holds the partition's lease (a fence against a
-- paused process whose partition has moved on).
-- KEYS: 1 lease, 2 subscriber, 3 outbound stream, 4 inbound stream
-- ARGV: 1 owner token, 2 subscriber JSON ('' = delete), 3 subscriber ttl, 4 inbound group,
--       5 inbound entry id, 6.. outbound messages as (recipient, JSON) pairs; the recipient
--       is its own field so the sender orders entries without parsing them
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
if ARGV[2] == '' then
  redis.call('DEL', KEYS[2])
else
  redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3])
end
for i = 6, #ARGV, 2 do
  redis.call('XADD', KEYS[3], '*', 'recipient', ARGV[i], 'message', ARGV[i + 1])
end
redis.call('XACK', KEYS[4], ARGV[4], ARGV[5])
redis.call('XDEL', KEYS[4], ARGV[5])
return 1
