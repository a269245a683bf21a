local old = redis.call('HGET', KEYS[1], ARGV[1])
if not old then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('SREM', KEYS[3], ARGV[1])
if redis.call('HLEN', KEYS[1]) == 0 then
  redis.call('SREM', KEYS[2], ARGV[2])
  redis.call('DEL', KEYS[3], KEYS[4])
end
local ok, u = pcall(cjson.decode, old)
if ok and type(u) == 'table' and type(u.node) == 'string' then
  redis.call('SREM', ARGV[3] .. 'nodemembers:' .. u.node, ARGV[2] .. '\0' .. ARGV[1])
end
return 1
