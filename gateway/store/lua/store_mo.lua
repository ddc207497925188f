-- Store one MO part durably; when the message is complete, append it to the inbound stream.
-- KEYS: 1 inbound stream, 2 parts hash (per sender + recipient + reference + total),
--       3 seen marker (per PDU fingerprint), 4 pending parts (sorted set, scored by expiry)
-- ARGV: 1 total parts, 2 this part's number, 3 parts ttl seconds, 4 redelivery window seconds
--       (0: no redelivery check), 5 the bind this PDU came on, 6 the position in ARGV of the
--       value that holds this part's octets (hex), 7 now, 8 the last bind lost without an
--       unbind ('' none), 9 when it was lost, 10 redelivery grace seconds,
--       11.. field/value pairs of the stream entry (gateway/messages.py lays them out; this
--       script does not know the fields, only where the octets are)
-- Returns 1 stored (complete), 0 stored (a part), 2 a redelivery: the same PDU was stored on
-- a bind that was then lost, at most the grace before the loss, so its deliver_sm_resp may
-- never have reached the SMSC, which sends it again on the new bind. Anything else (a citizen
-- sending the same text again, on any bind, after any reconnect) is stored.
local now = tonumber(ARGV[7])
if tonumber(ARGV[4]) > 0 then
  local seen = redis.call('GET', KEYS[3])
  if seen and ARGV[8] ~= '' then
    local bind, at = string.match(seen, '^(.*)|([^|]*)$')
    if bind == ARGV[8] and bind ~= ARGV[5] and tonumber(at) >= tonumber(ARGV[9]) - tonumber(ARGV[10])
        and tonumber(at) <= tonumber(ARGV[9]) then
      return 2
    end
  end
  redis.call('SET', KEYS[3], ARGV[5] .. '|' .. ARGV[7], 'EX', ARGV[4])
end
local total = tonumber(ARGV[1])
local octets_at = tonumber(ARGV[6])
local octets = ARGV[octets_at]
if total > 1 then
  redis.call('HSET', KEYS[2], ARGV[2], octets)
  redis.call('EXPIRE', KEYS[2], ARGV[3])
  if redis.call('HLEN', KEYS[2]) < total then
    redis.call('ZADD', KEYS[4], now + tonumber(ARGV[3]), KEYS[2])
    return 0
  end
  local parts = {}
  for i = 1, total do
    local part = redis.call('HGET', KEYS[2], tostring(i))
    if not part then
      redis.call('ZADD', KEYS[4], now + tonumber(ARGV[3]), KEYS[2])
      return 0
    end
    parts[i] = part
  end
  octets = table.concat(parts)
  redis.call('DEL', KEYS[2])
  redis.call('ZREM', KEYS[4], KEYS[2])
end
local entry = {}
for i = 11, #ARGV do
  entry[#entry + 1] = (i == octets_at) and octets or ARGV[i]
end
redis.call('XADD', KEYS[1], '*', unpack(entry))
return 1
