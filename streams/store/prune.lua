-- Drops the oldest log entries ingested before a cut, with their payloads and
-- idempotency entries, atomically per call (so an event never outlives its id,
-- nor the reverse). Bounded work per call: the caller repeats while it drops
-- a full page.
--
-- KEYS[1] log (stream), KEYS[2] ids (hash: event_id -> payload digest).
-- ARGV[1] the cut as a stream id '<ms>-0': entries with a smaller id go;
-- ARGV[2] at most this many entries per call.
-- Returns {event_ids dropped from ids, log entries dropped}.

local log_key, ids_key = KEYS[1], KEYS[2]
local entries = redis.call('XRANGE', log_key, '-', '(' .. ARGV[1], 'COUNT', ARGV[2])
-- unpack() is bounded by the Lua C stack: at most CHUNK values per call.
local CHUNK = 4000
local dropped = 0
local entry_ids = {}

for _, entry in ipairs(entries) do
  local entry_id, flat = entry[1], entry[2]
  local fields = {}
  for k = 1, #flat, 2 do
    fields[flat[k]] = flat[k + 1]
  end
  -- Only ids this entry stored belong to it: a skipped (duplicate or
  -- redelivered) id is owned by an older entry, or by a newer one after a
  -- re-publication past retention.
  local skipped = {}
  for index in string.gmatch(fields['s'] or '', '%d+') do
    skipped[tonumber(index) + 1] = true
  end
  local ids = cmsgpack.unpack(fields['i'])
  local owned = {}
  for n = 1, #ids do
    if not skipped[n] then
      owned[#owned + 1] = ids[n]
    end
  end
  for first = 1, #owned, CHUNK do
    dropped = dropped
      + redis.call('HDEL', ids_key, unpack(owned, first, math.min(first + CHUNK - 1, #owned)))
  end
  redis.call('DEL', log_key .. ':' .. entry_id)
  entry_ids[#entry_ids + 1] = entry_id
end

for first = 1, #entry_ids, CHUNK do
  redis.call('XDEL', log_key, unpack(entry_ids, first, math.min(first + CHUNK - 1, #entry_ids)))
end
return {dropped, #entry_ids}
