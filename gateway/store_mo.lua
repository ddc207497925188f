-- Store one MO part durably; when the message is complete, append it to the inbound stream.
-- KEYS: 1 inbound stream, 2 parts hash (per sender+recipient+reference)
-- ARGV: 1 sender, 2 recipient, 3 text, 4 received_at, 5 total parts, 6 this part's number,
--       7 parts ttl seconds, 8 channel
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
redis.call('XADD', KEYS[1], '*', 'sender', ARGV[1], 'recipient', ARGV[2], 'text', text,
  'received_at', ARGV[4], 'channel', ARGV[8])
return 1
