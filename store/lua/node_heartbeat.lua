local lapsed = redis.call('EXISTS', KEYS[1]) == 0
redis.call('SET', KEYS[1], '1', 'PX', ARGV[2])
redis.call('SADD', KEYS[2], ARGV[1])
for _, e in ipairs(redis.call('SMEMBERS', KEYS[3])) do
  local i = string.find(e, '\0', 1, true)
  if i then
    local k = ARGV[3] .. 'name:' .. string.sub(e, 1, i - 1)
    local owner = string.sub(e, i + 1)
    local cur = redis.call('GET', k)
    if cur == owner then
      redis.call('PEXPIRE', k, ARGV[2])
    elseif not cur then
      redis.call('SET', k, owner, 'PX', ARGV[2])
    else
      redis.call('SREM', KEYS[3], e)
    end
  else
    redis.call('SREM', KEYS[3], e)
  end
end
if lapsed then return 1 end
return 0
