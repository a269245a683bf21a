if redis.call('EXISTS', KEYS[1]) == 1 then return {-1, {}} end
local gone = {}
for _, e in ipairs(redis.call('SPOP', KEYS[2], ARGV[3])) do
  local i = string.find(e, '\0', 1, true)
  if i then
    local room = string.sub(e, 1, i - 1)
    local uid = string.sub(e, i + 1)
    local rk = ARGV[2] .. 'room:' .. room
    local v = redis.call('HGET', rk, uid)
    if v then
      local ok, u = pcall(cjson.decode, v)
      if ok and type(u) == 'table' and u.node == ARGV[1] then
        redis.call('HDEL', rk, uid)
        redis.call('SREM', ARGV[2] .. 'call:' .. room, uid)
        if redis.call('HLEN', rk) == 0 then
          redis.call('SREM', KEYS[5], room)
          redis.call('DEL', ARGV[2] .. 'call:' .. room, ARGV[2] .. 'player:' .. room)
        end
        table.insert(gone, room)
        table.insert(gone, v)
      end
    end
  end
end
for _, e in ipairs(redis.call('SPOP', KEYS[3], ARGV[3])) do
  local i = string.find(e, '\0', 1, true)
  if i then
    local k = ARGV[2] .. 'name:' .. string.sub(e, 1, i - 1)
    if redis.call('GET', k) == string.sub(e, i + 1) then redis.call('DEL', k) end
  end
end
local more = redis.call('SCARD', KEYS[2]) + redis.call('SCARD', KEYS[3])
if more == 0 then redis.call('SREM', KEYS[4], ARGV[1]) end
return {more, gone}
