local ttl = tonumber(ARGV[2])
local ok
if ttl > 0 then
  ok = redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ttl)
else
  ok = redis.call('SET', KEYS[1], ARGV[1], 'NX')
end
if not ok then
  if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
  if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) end
end
if ttl > 0 then
  redis.call('SADD', KEYS[2], ARGV[3])
  redis.call('SADD', KEYS[3], ARGV[4])
  redis.call('SET', KEYS[4], '1', 'NX', 'PX', ttl)
end
return 1
