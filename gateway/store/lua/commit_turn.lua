-- Commit one handled MO: the subscriber's record, the conversation's record, its replies, and
-- the inbound acknowledgement, together, and only while this process still holds the
-- partition's lease (a fence against a paused process whose partition has moved on).
-- KEYS: 1 lease, 2 subscriber, 3 session, 4 outbound stream of dialogs in progress,
--       5 inbound stream, 6 sessionless outbound stream, 7 the number's count of replies queued
--       in the sessionless lane (gateway/store/keys.py)
-- ARGV: 1 owner token, 2 subscriber JSON ('' = delete), 3 subscriber ttl, 4 session JSON
--       ('' = delete), 5 session ttl (the idle time: personal data expires with the session),
--       6 inbound group, 7 inbound entry id, 8 lane asked for ('dialog' | 'sessionless'),
--       9 the count's ttl, 10 the outbound group to read the queued replies for ('' = none:
--       the lane reads them itself), 11 its consumer, 12.. outbound messages as (recipient,
--       JSON) pairs; the recipient is its own field so the sender orders entries without
--       parsing them
-- A dialog's replies go to the sessionless lane too while the number has replies queued
-- there: one number's replies never overtake each other.
-- Returns 0 when the lease is not ours (nothing written), 3 when the entry was acknowledged
-- already (this commit ran before: nothing written), else {lane, read}: the lane the replies
-- went to (1 dialogs, 2 sessionless) and, with a group in ARGV[10], what XREADGROUP '>' gave
-- that group's consumer from it (the replies just queued, after any older ones not read yet;
-- pending from now on, as after any read), or false.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
-- The acknowledgement first: a commit sent again (its batch retried after a lost connection,
-- the first one having run) finds the entry acknowledged and writes nothing twice.
if redis.call('XACK', KEYS[5], ARGV[6], ARGV[7]) == 0 then
  return 3
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
local stream, lane = KEYS[4], 1
if #ARGV >= 12 and (ARGV[8] == 'sessionless' or tonumber(redis.call('GET', KEYS[7]) or '0') > 0) then
  stream, lane = KEYS[6], 2
  redis.call('INCRBY', KEYS[7], math.floor((#ARGV - 11) / 2))
  redis.call('EXPIRE', KEYS[7], ARGV[9])
end
for i = 12, #ARGV, 2 do
  redis.call('XADD', stream, '*', 'recipient', ARGV[i], 'message', ARGV[i + 1])
end
redis.call('XDEL', KEYS[5], ARGV[7])
local read = false
if #ARGV >= 12 and ARGV[10] ~= '' then
  -- pcall: with the group gone (a Redis restarted without its data) the commit still stands
  -- and the lane, which makes the group again, reads the replies itself.
  read = redis.pcall('XREADGROUP', 'GROUP', ARGV[10], ARGV[11], 'COUNT', 64, 'STREAMS', stream, '>')
  if type(read) == 'table' and read.err then
    read = false
  end
end
return {lane, read}
