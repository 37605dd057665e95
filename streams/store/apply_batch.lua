-- Applies one batch of consumed messages atomically. Runs inside MULTI right
-- after `SET <staging> <payloads>`: each argument byte costs a script ~1.7 ns
-- (measured on Redis 7.0; it becomes a Lua string), so the payloads, ~95% of
-- a batch, never pass through here.
--
-- KEYS[1] offsets (hash), KEYS[2] counters (hash), KEYS[3] ids (hash: event_id ->
--   digest of the payload stored), KEYS[4] log (stream), KEYS[5] staging (string:
--   msgpack array of the valid messages' payloads, batch order; renamed to
--   <log>:<entry id>, or deleted), KEYS[6] dead letters pending (hash, see below).
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
--     repeats,      -- true when an event_id occurs twice in the batch
--     conflict_fields } -- 'events_invalid_total|topic|conflicting_duplicate', per tps
-- ARGV[2] msgpack array of the valid messages' event_ids, batch order.
-- ARGV[3] msgpack per message, columnar: { tp_of (index into tps), offset_of,
--   field_of (index into fields) }; decoded only when something is redelivered
--   or duplicate (the usual batch is counted from the summary alone).
-- ARGV[4] msgpack array of the valid messages' payload digests (hex), like ARGV[2].
--
-- A message at or below the offset already applied for its partition is a
-- redelivery and is skipped whole. A valid event whose event_id is in `ids`, or
-- appeared earlier in this batch, is a duplicate when its payload digest is the
-- one stored, and a conflict otherwise (SPEC §3: the same id with another
-- payload): not stored, counted as invalid (conflicting_duplicate), and noted in
-- the dead-letters-pending hash ('topic:partition:offset' -> the stored digest)
-- until the worker has sent it to the dead-letter topic and forgotten it. A
-- crash in between leaves the batch uncommitted in Kafka: redelivered, a message
-- still pending is reported as a conflict again, so no dead letter is lost. When
-- anything is fresh, one
-- log entry {i = ARGV[2], s = 'j,k,...' (0-based indexes into i and the
-- payloads that were NOT stored; omitted when none)} is added, the staging
-- key becomes <log>:<entry id> and the fresh event_ids join `ids`.
--
-- Returns msgpack {not stored, conflicts}: the 0-based batch positions of VALID
-- messages not stored (redelivered, duplicate or conflicting; usually none), and
-- {position, stored digest} of each conflict (new or still pending).

local offsets_key, counters_key, ids_key, log_key, staging_key, pending_key =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local s = cmsgpack.unpack(ARGV[1])
local tps, dup_fields, first_offset, last_offset, ordered = s[1], s[2], s[3], s[4], s[5]
local fields, valid, field_count, repeats, conflict_fields = s[6], s[7], s[8], s[9], s[10]
local ids = cmsgpack.unpack(ARGV[2])
local digests = cmsgpack.unpack(ARGV[4])
-- unpack() is bounded by the Lua C stack: at most CHUNK values per call.
local CHUNK = 4000

-- The stored digest of each of `list` found in `ids` (by index), and whether any is.
local function lookup(list)
  local known, any = {}, false
  for first = 1, #list, CHUNK do
    local last = math.min(first + CHUNK - 1, #list)
    local found = redis.call('HMGET', ids_key, unpack(list, first, last))
    for k = 1, #found do
      if found[k] then
        known[first + k - 1] = found[k]
        any = true
      end
    end
  end
  return known, any
end

-- `list` of event_ids with `digest_of` their digests (same indexes).
local function add_ids(list, digest_of)
  local pairs_ = {}
  for n = 1, #list do
    pairs_[#pairs_ + 1] = list[n]
    pairs_[#pairs_ + 1] = digest_of[n]
    if #pairs_ >= CHUNK then
      redis.call('HSET', ids_key, unpack(pairs_))
      pairs_ = {}
    end
  end
  if #pairs_ > 0 then
    redis.call('HSET', ids_key, unpack(pairs_))
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
      add_ids(ids, digests)
    else
      redis.call('DEL', staging_key)
    end
    write_counts(field_count, {})
    write_offsets(last_offset)
    return cmsgpack.pack({{}, {}})
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
local conflicts = {} -- {0-based batch position, stored digest}
-- Conflicts of an earlier delivery not yet dead-lettered (a crash in between).
local any_pending = redelivered and redis.call('EXISTS', pending_key) == 1

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
    if any_pending then
      local stored = redis.call('HGET', pending_key, tps[t] .. ':' .. string.format('%d', offset))
      if stored then
        conflicts[#conflicts + 1] = {i - 1, stored}
      end
    end
  end
end

-- Without redeliveries the candidates are `ids` itself, already looked up.
if known == nil then
  known = lookup(candidates)
end

local seen = {}       -- event_id -> digest, of this batch's fresh events
local dups = {}
local fresh, fresh_digests = {}, {}
for n = 1, #candidates do
  local id, i = candidates[n], candidate_at[n]
  local digest = digests[candidate_index[n]]
  local prior = known[n] or seen[id]
  if prior then
    local t = tp_of[i]
    -- '' is an id stored before digests were kept (an upgraded store): a duplicate.
    if prior == digest or prior == '' then
      dups[t] = (dups[t] or 0) + 1
    else
      conflicts[#conflicts + 1] = {i - 1, prior}
      redis.call('HINCRBY', counters_key, conflict_fields[t], 1)
      redis.call('HSET', pending_key,
        tps[t] .. ':' .. string.format('%d', offset_of[i]), prior)
    end
    not_fresh[#not_fresh + 1] = i - 1
    skip[#skip + 1] = candidate_index[n] - 1
  else
    seen[id] = digest
    fresh[#fresh + 1] = id
    fresh_digests[#fresh_digests + 1] = digest
    local f = field_of[i]
    counts[f] = (counts[f] or 0) + 1
  end
end

if #fresh > 0 then
  store_log(skip)
  add_ids(fresh, fresh_digests)
else
  redis.call('DEL', staging_key)
end
write_counts(counts, dups)
write_offsets(moved)
table.sort(not_fresh)
return cmsgpack.pack({not_fresh, conflicts})
