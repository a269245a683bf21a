local old = redis.call('HGET', KEYS[1], ARGV[1])
if old then
  local ok, u = pcall(cjson.decode, old)
  if ok and type(u) == 'table' and type(u.node) == 'string' and u.node ~= ARGV[4] then
    redis.call('SREM', ARGV[6] .. 'nodemembers:' .. u.node, ARGV[3] .. '\0' .. ARGV[1])
  end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
redis.call('SADD', KEYS[3], ARGV[3] .. '\0' .. ARGV[1])
redis.call('SADD', KEYS[4], ARGV[4])
redis.call('SET', KEYS[5], '1', 'NX', 'PX', ARGV[5])
return 1
