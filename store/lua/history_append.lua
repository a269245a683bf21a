if ARGV[3] ~= '' then
  local prev = redis.call('GET', KEYS[3])
  if prev then
    local e = redis.call('XRANGE', KEYS[2], prev .. '-0', prev .. '-0')
    if #e > 0 then return {tonumber(prev), e[1][2][2]} end
  end
end
local id = redis.call('INCR', KEYS[1])
redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[2], string.format('%d-0', id), 'm', ARGV[1])
if ARGV[3] ~= '' then redis.call('SET', KEYS[3], id, 'PX', ARGV[4]) end
return {id, ARGV[1]}
