-- Applies one batch of consumed messages atomically (a Lua script runs alone).
--
-- ARGV[1] key prefix, ARGV[2] retention seconds (TTL of per-location keys),
-- ARGV[3] number of messages, then 8 values per message:
--   topic, partition, offset, event_id ('' = rejected), location ('' = network),
--   occurred_at (epoch s), payload, label (event_type, or the rejection reason)
-- A message at or below the offset already applied for its partition is a
-- redelivery and is skipped whole; a valid event whose event_id is stored is a
-- duplicate. Returns the 1-based positions of the events stored for the first time.
local prefix = ARGV[1]
local ttl = tonumber(ARGV[2])
local count = tonumber(ARGV[3])
local offsets_key = prefix .. 'offsets'
local counters_key = prefix .. 'counters'
local applied = {}
local touched = {}
local fresh = {}

for i = 0, count - 1 do
  local base = 4 + i * 8
  local topic, partition = ARGV[base], ARGV[base + 1]
  local offset = tonumber(ARGV[base + 2])
  local event_id, location = ARGV[base + 3], ARGV[base + 4]
  local tp = topic .. ':' .. partition
  local last = applied[tp]
  if last == nil then
    last = tonumber(redis.call('HGET', offsets_key, tp) or '-1')
  end
  if offset > last then
    applied[tp] = offset
    if event_id == '' then
      redis.call('HINCRBY', counters_key, 'events_invalid_total|' .. topic .. '|' .. ARGV[base + 7], 1)
    else
      local events_key, times_key
      if location == '' then
        events_key, times_key = prefix .. 'network_events', prefix .. 'network_event_times'
      else
        events_key, times_key = prefix .. 'events:' .. location, prefix .. 'event_times:' .. location
      end
      if redis.call('HSETNX', events_key, event_id, ARGV[base + 6]) == 1 then
        redis.call('ZADD', times_key, ARGV[base + 5], event_id)
        redis.call('HINCRBY', counters_key, 'events_total|' .. topic .. '|' .. ARGV[base + 7], 1)
        fresh[#fresh + 1] = i + 1
        if touched[location] == nil then
          touched[location] = {events_key, times_key}
        end
      else
        redis.call('HINCRBY', counters_key, 'events_duplicate_total|' .. topic, 1)
      end
    end
  end
end

for tp, offset in pairs(applied) do
  redis.call('HSET', offsets_key, tp, offset)
end
for location, keys in pairs(touched) do
  if location ~= '' then
    redis.call('SADD', prefix .. 'locations', location)
  end
  redis.call('EXPIRE', keys[1], ttl)
  redis.call('EXPIRE', keys[2], ttl)
end
return fresh
