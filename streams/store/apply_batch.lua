-- Applies one batch of consumed messages atomically. Runs inside MULTI right
-- after `SET <staging> <payloads>`: each argument byte costs a script ~1.7 ns
-- (measured on Redis 7.0; it becomes a Lua string), so the payloads, ~95% of
-- a batch, never pass through here.
--
-- KEYS[1] offsets (hash), KEYS[2] counters (hash), KEYS[3] ids (set),
-- KEYS[4] log (stream), KEYS[5] staging (string: msgpack array of the valid
--   messages' payloads, batch order; renamed to <log>:<entry id>, or deleted).
-- ARGV[1] msgpack summary of the batch:
--   { tps,          -- 'topic:partition' of each partition in the batch
--     dup_fields,   -- 'events_duplicate_total|topic' for each of tps
--     first_offset, -- per partition: its lowest offset in the batch
--     last_offset,  -- per partition: its highest offset in the batch
--     ordered,      -- true when each partition's offsets rise through the batch
--     fields,       -- counter fields: 'events_total|topic|type' or
--                   --   'events_invalid_total|topic|reason'
--     valid,        -- per field: true for events_total (a valid event)
--     field_count,  -- per field: its messages in the batch
--     repeats }     -- true when an event_id occurs twice in the batch
-- ARGV[2] msgpack array of the valid messages' event_ids, batch order.
-- ARGV[3] msgpack per message, columnar: { tp_of (index into tps), offset_of,
--   field_of (index into fields) }; decoded only when something is redelivered
--   or duplicate (the usual batch is counted from the summary alone).
--
-- A message at or below the offset already applied for its partition is a
-- redelivery and is skipped whole. A valid event whose event_id is in `ids`, or
-- appeared earlier in this batch, is a duplicate. When anything is fresh, one
-- log entry {i = ARGV[2], s = 'j,k,...' (0-based indexes into i and the
-- payloads that were NOT stored; omitted when none)} is added, the staging
-- key becomes <log>:<entry id> and the fresh event_ids join `ids`.
--
-- Returns msgpack of the 0-based batch positions of VALID messages not stored
-- (redelivered or duplicate): usually an empty array.

local offsets_key, counters_key, ids_key, log_key, staging_key =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local s = cmsgpack.unpack(ARGV[1])
local tps, dup_fields, first_offset, last_offset, ordered = s[1], s[2], s[3], s[4], s[5]
local fields, valid, field_count, repeats = s[6], s[7], s[8], s[9]
local ids = cmsgpack.unpack(ARGV[2])
-- unpack() is bounded by the Lua C stack: at most CHUNK values per call.
local CHUNK = 4000

-- Which of `list` are in `ids`, and whether any is.
local function lookup(list)
  local known, any = {}, false
  for first = 1, #list, CHUNK do
    local last = math.min(first + CHUNK - 1, #list)
    local found = redis.call('SMISMEMBER', ids_key, unpack(list, first, last))
    for k = 1, #found do
      if found[k] == 1 then
        known[first + k - 1] = true
        any = true
      end
    end
  end
  return known, any
end

local function add_ids(list)
  for first = 1, #list, CHUNK do
    redis.call('SADD', ids_key, unpack(list, first, math.min(first + CHUNK - 1, #list)))
  end
end

local function store_log(skip)
  local entry
  if #skip > 0 then
    table.sort(skip)
    entry = redis.call('XADD', log_key, '*', 'i', ARGV[2], 's', table.concat(skip, ','))
  else
    entry = redis.call('XADD', log_key, '*', 'i', ARGV[2])
  end
  redis.call('RENAME', staging_key, log_key .. ':' .. entry)
end

local function write_counts(counts, dups)
  for f, n in pairs(counts) do
    redis.call('HINCRBY', counters_key, fields[f], n)
  end
  for t, n in pairs(dups) do
    redis.call('HINCRBY', counters_key, dup_fields[t], n)
  end
end

local function write_offsets(offset_of_tp)
  local pairs_ = {}
  for t, offset in pairs(offset_of_tp) do
    pairs_[#pairs_ + 1] = tps[t]
    -- '%d', not tostring: Lua prints numbers with 14 significant digits.
    pairs_[#pairs_ + 1] = string.format('%d', offset)
  end
  if #pairs_ > 0 then
    redis.call('HSET', offsets_key, unpack(pairs_))
  end
end

local applied = redis.call('HMGET', offsets_key, unpack(tps))
local redelivered = not ordered
for t = 1, #tps do
  applied[t] = tonumber(applied[t]) or -1
  if first_offset[t] <= applied[t] then
    redelivered = true
  end
end

-- The usual batch: nothing redelivered, every event new.
local known, any_known
if not redelivered then
  known, any_known = lookup(ids)
  if not any_known and not repeats then
    if #ids > 0 then
      store_log({})
      add_ids(ids)
    else
      redis.call('DEL', staging_key)
    end
    write_counts(field_count, {})
    write_offsets(last_offset)
    return cmsgpack.pack({})
  end
end

-- Otherwise, message by message.
local m = cmsgpack.unpack(ARGV[3])
local tp_of, offset_of, field_of = m[1], m[2], m[3]
local moved = {}
local counts = {}
local not_fresh = {} -- 0-based batch positions
local skip = {}      -- 0-based indexes into ids and the payloads
local candidates, candidate_at, candidate_index = {}, {}, {}
local v = 0          -- 1-based index into ids of the current valid message

for i = 1, #tp_of do
  local t, f = tp_of[i], field_of[i]
  local is_valid = valid[f]
  if is_valid then
    v = v + 1
  end
  local offset = offset_of[i]
  if offset > applied[t] then
    applied[t] = offset
    moved[t] = offset
    if is_valid then
      local n = #candidates + 1
      candidates[n], candidate_at[n], candidate_index[n] = ids[v], i, v
    else
      counts[f] = (counts[f] or 0) + 1
    end
  elseif is_valid then
    not_fresh[#not_fresh + 1] = i - 1
    skip[#skip + 1] = v - 1
  end
end

-- Without redeliveries the candidates are `ids` itself, already looked up.
if known == nil then
  known = lookup(candidates)
end

local seen = {}
local dups = {}
local fresh = {}
for n = 1, #candidates do
  local id, i = candidates[n], candidate_at[n]
  if known[n] or seen[id] then
    local t = tp_of[i]
    dups[t] = (dups[t] or 0) + 1
    not_fresh[#not_fresh + 1] = i - 1
    skip[#skip + 1] = candidate_index[n] - 1
  else
    seen[id] = true
    fresh[#fresh + 1] = id
    local f = field_of[i]
    counts[f] = (counts[f] or 0) + 1
  end
end

if #fresh > 0 then
  store_log(skip)
  add_ids(fresh)
else
  redis.call('DEL', staging_key)
end
write_counts(counts, dups)
write_offsets(moved)
table.sort(not_fresh)
return cmsgpack.pack(not_fresh)
