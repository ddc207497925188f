-- Commit one handled MO: the subscriber's record, the conversation's record, its replies, and
-- the inbound acknowledgement, together, and only while this process still holds the
-- partition's lease (a fence against a paused process whose partition has moved on).
-- KEYS: 1 lease, 2 subscriber, 3 session, 4 outbound stream of the turn's lane (dialogs in
--       progress or sessionless, see gateway/store/keys.py), 5 inbound stream
-- ARGV: 1 owner token, 2 subscriber JSON ('' = delete), 3 subscriber ttl, 4 session JSON
--       ('' = delete), 5 session ttl (the idle time: personal data expires with the session),
--       6 inbound group, 7 inbound entry id, 8.. outbound messages as (recipient, JSON) pairs;
--       the recipient is its own field so the sender orders entries without parsing them
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
if ARGV[2] == '' then
  redis.call('DEL', KEYS[2])
else
  redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3])
end
if ARGV[4] == '' then
  redis.call('DEL', KEYS[3])
else
  redis.call('SET', KEYS[3], ARGV[4], 'EX', ARGV[5])
end
for i = 8, #ARGV, 2 do
  redis.call('XADD', KEYS[4], '*', 'recipient', ARGV[i], 'message', ARGV[i + 1])
end
redis.call('XACK', KEYS[5], ARGV[6], ARGV[7])
redis.call('XDEL', KEYS[5], ARGV[7])
return 1
