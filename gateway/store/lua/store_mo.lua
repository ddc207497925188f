-- Store one MO part durably; when the message is complete, append it to the inbound stream.
-- KEYS: 1 inbound stream, 2 parts hash (per sender+recipient+reference), 3 seen marker
-- ARGV: 1 total parts, 2 this part's number, 3 parts ttl seconds, 4 duplicate window seconds
--       (0: no duplicate check), 5 the SMPP bind this PDU came on, 6 the position in ARGV of
--       the value that holds this part's text, 7.. field/value pairs of the stream entry
--       (gateway/messages.py lays them out; this script does not know the fields)
-- Returns 1 stored (complete), 0 stored (a part), 2 duplicate: the same PDU already came on
-- an earlier bind of this same process within the window, which is how an SMSC redelivers an
-- MO whose deliver_sm_resp it lost (the link broke, it rebinds, then sends again). A bind is
-- named '<process instance>:<bind number>' (smpp/client.py). The same text again on the same
-- bind is a citizen repeating themselves, and is stored; so is the same text on another
-- process's bind, because with several gateways bound the SMSC spreads a number's messages
-- over all their binds, and a repeat must not be dropped there.
if tonumber(ARGV[4]) > 0 then
  local seen = redis.call('GET', KEYS[3])
  if seen and seen ~= ARGV[5] and seen:match('^[^:]*') == ARGV[5]:match('^[^:]*') then
    return 2
  end
  redis.call('SET', KEYS[3], ARGV[5], 'EX', ARGV[4])
end
local total = tonumber(ARGV[1])
local text_at = tonumber(ARGV[6])
local text = ARGV[text_at]
if total > 1 then
  redis.call('HSET', KEYS[2], ARGV[2], text)
  redis.call('EXPIRE', KEYS[2], ARGV[3])
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
local entry = {}
for i = 7, #ARGV do
  entry[#entry + 1] = (i == text_at) and text or ARGV[i]
end
redis.call('XADD', KEYS[1], '*', unpack(entry))
return 1
