-- Store one MO part durably; when the message is complete, append it to the inbound stream.
-- KEYS: 1 inbound stream, 2 parts hash (per sender+recipient+reference), 3 seen marker
-- ARGV: 1 sender, 2 recipient, 3 text, 4 received_at, 5 total parts, 6 this part's number,
--       7 parts ttl seconds, 8 channel, 9 duplicate window seconds (0: no duplicate check),
--       10 the SMPP bind this PDU came on, 11.. more field/value pairs for the stream entry
-- Returns 1 stored (complete), 0 stored (a part), 2 duplicate: the same PDU already came on
-- an earlier bind of this same process within the window, which is how an SMSC redelivers an
-- MO whose deliver_sm_resp it lost (the link broke, it rebinds, then sends again). A bind is
-- named '<process instance>:<bind number>' (smpp/client.py). The same text again on the same
-- bind is a citizen repeating themselves, and is stored; so is the same text on another
-- process's bind, because with several gateways bound the SMSC spreads a number's messages
-- over all their binds, and a repeat must not be dropped there.
if tonumber(ARGV[9]) > 0 then
  local seen = redis.call('GET', KEYS[3])
  if seen and seen ~= ARGV[10] and seen:match('^[^:]*') == ARGV[10]:match('^[^:]*') then
    return 2
  end
  redis.call('SET', KEYS[3], ARGV[10], 'EX', ARGV[9])
end
local total = tonumber(ARGV[5])
local text = ARGV[3]
if total > 1 then
  redis.call('HSET', KEYS[2], ARGV[6], text)
  redis.call('EXPIRE', KEYS[2], ARGV[7])
  if redis.call('HLEN', KEYS[2]) < total then
    return 0
  end
  local parts = {}
  for i = 1, total do
    local part = redis.call('HGET', KEYS[2], tostring(i))
    if not part then
      return 0
    end
    parts[i] = part
  end
  text = table.concat(parts)
  redis.call('DEL', KEYS[2])
end
local entry = {'sender', ARGV[1], 'recipient', ARGV[2], 'text', text,
  'received_at', ARGV[4], 'channel', ARGV[8]}
for i = 11, #ARGV do
  entry[#entry + 1] = ARGV[i]
end
redis.call('XADD', KEYS[1], '*', unpack(entry))
return 1
