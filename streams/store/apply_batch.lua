-- Applies one batch of consumed messages atomically (a Lua script runs alone).
--
-- ARGV[1] key prefix, ARGV[2] retention seconds (TTL of per-location keys),
-- ARGV[3] a JSON array with one array of strings per message:
--   [topic, partition, offset, event_id ('' = rejected), location ('' = network),
--    occurred_at (epoch s), label (event_type, or the rejection reason)]
-- then ARGV[4 + i] the payload of message i (0-based).
-- (Metadata travels as one JSON argument: packing eight arguments per message
-- cost the client more than the script costs the server.)
-- A message at or below the offset already applied for its partition is a
-- redelivery and is skipped whole; a valid event whose event_id is stored is a
-- duplicate. Returns the 1-based positions of the events stored for the first time.
--
-- Only the HSETNX (the idempotency check) runs per event: time-index entries are
-- added with one ZADD per location and counters with one HINCRBY per field.
local prefix = ARGV[1]
local ttl = tonumber(ARGV[2])
local meta = cjson.decode(ARGV[3])
local count = #meta
local offsets_key = prefix .. 'offsets'
local counters_key = prefix .. 'counters'
local applied = {}
local keys_of = {}
local touched = {}
local times = {}
local counts = {}
local fresh = {}

for i = 0, count - 1 do
  local m = meta[i + 1]
  local topic, partition = m[1], m[2]
  local offset = tonumber(m[3])
  local event_id, location = m[4], m[5]
  local tp = topic .. ':' .. partition
  local last = applied[tp]
  if last == nil then
    last = tonumber(redis.call('HGET', offsets_key, tp) or '-1')
  end
  if offset > last then
    applied[tp] = offset
    local field
    if event_id == '' then
      field = 'events_invalid_total|' .. topic .. '|' .. m[7]
    else
      local keys = keys_of[location]
      if keys == nil then
        if location == '' then
          keys = {prefix .. 'network_events', prefix .. 'network_event_times'}
        else
          keys = {prefix .. 'events:' .. location, prefix .. 'event_times:' .. location}
        end
        keys_of[location] = keys
      end
      if redis.call('HSETNX', keys[1], event_id, ARGV[4 + i]) == 1 then
        local pairs_of = times[location]
        if pairs_of == nil then
          pairs_of = {}
          times[location] = pairs_of
          touched[location] = keys
        end
        pairs_of[#pairs_of + 1] = m[6]
        pairs_of[#pairs_of + 1] = event_id
        field = 'events_total|' .. topic .. '|' .. m[7]
        fresh[#fresh + 1] = i + 1
      else
        field = 'events_duplicate_total|' .. topic
      end
    end
    counts[field] = (counts[field] or 0) + 1
  end
end

for tp, offset in pairs(applied) do
  redis.call('HSET', offsets_key, tp, offset)
end
for field, n in pairs(counts) do
  redis.call('HINCRBY', counters_key, field, n)
end
for location, keys in pairs(touched) do
  local pairs_of = times[location]
  -- unpack() is bounded by the Lua stack: at most 500 members per ZADD.
  for first = 1, #pairs_of, 1000 do
    redis.call('ZADD', keys[2], unpack(pairs_of, first, math.min(first + 999, #pairs_of)))
  end
  if location ~= '' then
    redis.call('SADD', prefix .. 'locations', location)
  end
  redis.call('EXPIRE', keys[1], ttl)
  redis.call('EXPIRE', keys[2], ttl)
end
return fresh
