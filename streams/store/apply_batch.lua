-- Applies one batch of consumed messages atomically. Runs inside MULTI right
-- after `SET <staging> <payloads>`: each argument byte costs a script ~1.7 ns
-- (measured on Redis 7.0; it becomes a Lua string), so the payloads, ~95% of
-- a batch, never pass through here.
--
-- KEYS[1] offsets (hash), KEYS[2] counters (hash), KEYS[3] log (stream),
-- KEYS[4] staging (string: msgpack array of the valid messages' payloads, batch
--   order; renamed to <log>:<entry id>, or deleted), KEYS[5] conflicts pending
--   (hash, see below), KEYS[6] the ids of a store written before the day slots
--   (hash; read while it lasts, it expires a dedup horizon after the upgrade),
--   KEYS[7] the dedup clock (hash: `day`, the latest event day stored; `pruned`,
--   the latest day whose slots were deleted).
-- ARGV[1] msgpack summary of the batch:
--   { tps,          -- 'topic:partition' of each partition in the batch
--     dup_fields,   -- 'events_duplicate_total|topic' for each of tps
--     first_offset, -- per partition: its lowest offset in the batch
--     last_offset,  -- per partition: its highest offset in the batch
--     ordered,      -- true when each partition's offsets rise through the batch
--     fields,       -- counter fields: 'events_total|topic|type',
--                   --   'events_invalid_total|topic|reason' or 'events_late_total|topic'
--     valid,        -- per field: true for events_total (a valid event)
--     field_count,  -- per field: its messages in the batch
--     repeats,      -- true when an event_id occurs twice in the batch
--     conflict_fields, -- 'events_invalid_total|topic|conflicting_duplicate', per tps
--     ids_prefix,   -- '<prefix>ids:': the dedup keys are ids_prefix .. slot key
--     slots,        -- dedup slots per day: day = floor(slot key / slots)
--     horizon_days, -- days of ids kept behind the dedup clock
--     max_day }     -- the latest event day among the batch's valid events (-1: none)
-- ARGV[2] msgpack array of the valid messages' event_ids, batch order.
-- ARGV[3] msgpack per message, columnar: { tp_of (index into tps), offset_of,
--   field_of (index into fields) }; decoded only when something is redelivered
--   or duplicate (the usual batch is counted from the summary alone).
-- ARGV[4] msgpack arrays, like ARGV[2]: { digests, fingerprints, slot keys }: the
--   payload digest, the event_id's 63-bit fingerprint (decimal text: Redis keeps it
--   as an integer) and its slot key (event day * slots + slot).
--
-- Dedup: the fingerprint of every stored event_id is a field of the hash
-- <ids_prefix><slot key>, valued with the payload digest. The dedup clock is the
-- latest event day stored (event time, so a backfill of old data deduplicates like
-- live data); once it is `horizon_days` past a day, that day's hashes are deleted
-- (a few days per call, so one call never blocks Redis long). The caller drops
-- events older than the horizon before they get here. Small hashes stay
-- listpack-encoded: ~17 bytes an id.
--
-- A message at or below the offset already applied for its partition is a
-- redelivery and is skipped whole. A valid event whose event_id is stored, or
-- appeared earlier in this batch, is a duplicate when its payload digest is the
-- one stored, and a conflict otherwise (SPEC §3: the same id with another
-- payload): not stored, counted as invalid (conflicting_duplicate), and noted in
-- the conflicts-pending hash ('topic:partition:offset' -> the stored digest)
-- until the worker has sent it to the dead-letter topic and forgotten it. A
-- crash in between leaves the batch uncommitted in Kafka: redelivered, a message
-- still pending is reported as a conflict again, so no dead letter is lost. When
-- anything is fresh, one log entry {i = ARGV[2], s = 'j,k,...' (0-based indexes
-- into i and the payloads that were NOT stored; omitted when none)} is added and
-- the staging key becomes <log>:<entry id>.
--
-- Returns msgpack {not stored, conflicts, entry, clock}: the 0-based batch
-- positions of VALID messages not stored (redelivered, duplicate or conflicting;
-- usually none), {position, stored digest} of each conflict (new or still
-- pending), the log entry id ('' when nothing was stored) and the dedup clock day.

local offsets_key, counters_key, log_key, staging_key, pending_key, legacy_key, clock_key =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local s = cmsgpack.unpack(ARGV[1])
local tps, dup_fields, first_offset, last_offset, ordered = s[1], s[2], s[3], s[4], s[5]
local fields, valid, field_count, repeats, conflict_fields = s[6], s[7], s[8], s[9], s[10]
local ids_prefix, slots, horizon_days, max_day = s[11], s[12], s[13], s[14]
local ids = cmsgpack.unpack(ARGV[2])
local dedup = cmsgpack.unpack(ARGV[4])
local digests, fingerprints, slot_keys = dedup[1], dedup[2], dedup[3]
-- unpack() is bounded by the Lua C stack: at most CHUNK values per call.
local CHUNK = 4000
-- Days of hashes deleted per call at most (each is `slots` keys).
local PRUNE_DAYS = 2

local function slot_key(k)
  return ids_prefix .. string.format('%d', slot_keys[k])
end

-- `indexes` (into `ids`) grouped by their dedup hash: {key -> indexes}, keys in order.
local function by_slot(indexes)
  local groups, order = {}, {}
  for _, k in ipairs(indexes) do
    local key = slot_key(k)
    local group = groups[key]
    if group == nil then
      group = {}
      groups[key] = group
      order[#order + 1] = key
    end
    group[#group + 1] = k
  end
  return groups, order
end

-- HMGET `key` for the names of `indexes`; calls found(k, value) for each name present.
local function fetch(key, indexes, name_of, found)
  for first = 1, #indexes, CHUNK do
    local last = math.min(first + CHUNK - 1, #indexes)
    local names = {}
    for n = first, last do
      names[#names + 1] = name_of[indexes[n]]
    end
    local values = redis.call('HMGET', key, unpack(names))
    for n = 1, #values do
      if values[n] then
        found(indexes[first + n - 1], values[n])
      end
    end
  end
end

-- The stored digest of each id (by its index into `ids`) of `indexes`, and whether any.
local function lookup(indexes)
  local known, any = {}, false
  local groups, order = by_slot(indexes)
  for _, key in ipairs(order) do
    fetch(key, groups[key], fingerprints, function(k, digest)
      known[k] = digest
      any = true
    end)
  end
  if #indexes > 0 and redis.call('EXISTS', legacy_key) == 1 then
    fetch(legacy_key, indexes, ids, function(k, _)
      if not known[k] then
        known[k] = ''  -- stored before digests were kept: read as a duplicate
        any = true
      end
    end)
  end
  return known, any
end

-- Remember the ids (indexes into `ids`) as stored.
local function add_ids(indexes)
  local groups, order = by_slot(indexes)
  for _, key in ipairs(order) do
    local pairs_ = {}
    for _, k in ipairs(groups[key]) do
      pairs_[#pairs_ + 1] = fingerprints[k]
      pairs_[#pairs_ + 1] = digests[k]
    end
    for first = 1, #pairs_, CHUNK do
      redis.call('HSET', key, unpack(pairs_, first, math.min(first + CHUNK - 1, #pairs_)))
    end
  end
end

-- Move the dedup clock to the batch's latest day; delete the days it left behind.
local function tick_clock()
  local clock = tonumber(redis.call('HGET', clock_key, 'day') or '-1')
  if max_day > clock then
    clock = max_day
    redis.call('HSET', clock_key, 'day', string.format('%d', clock))
  end
  if clock < 0 then
    return clock
  end
  local cutoff = clock - horizon_days  -- days before this one are past the horizon
  local pruned = tonumber(redis.call('HGET', clock_key, 'pruned') or '-1')
  if pruned < 0 then
    pruned = cutoff - 1  -- a new store: nothing older was kept
  end
  local upto = math.min(cutoff - 1, pruned + PRUNE_DAYS)
  for day = pruned + 1, upto do
    local names = {}
    for slot = 0, slots - 1 do
      names[#names + 1] = ids_prefix .. string.format('%d', day * slots + slot)
      if #names >= CHUNK then
        redis.call('UNLINK', unpack(names))
        names = {}
      end
    end
    if #names > 0 then
      redis.call('UNLINK', unpack(names))
    end
  end
  redis.call('HSET', clock_key, 'pruned', string.format('%d', math.max(pruned, upto)))
  return clock
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
  return entry
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
local all = {}
for k = 1, #ids do
  all[k] = k
end
local known, any_known
if not redelivered then
  known, any_known = lookup(all)
  if not any_known and not repeats then
    local entry = ''
    if #ids > 0 then
      entry = store_log({})
      add_ids(all)
    else
      redis.call('DEL', staging_key)
    end
    write_counts(field_count, {})
    write_offsets(last_offset)
    return cmsgpack.pack({{}, {}, entry, tick_clock()})
  end
end

-- Otherwise, message by message.
local m = cmsgpack.unpack(ARGV[3])
local tp_of, offset_of, field_of = m[1], m[2], m[3]
local moved = {}
local counts = {}
local not_fresh = {}  -- 0-based batch positions
local skip = {}       -- 0-based indexes into ids and the payloads
local candidates, candidate_at = {}, {}  -- indexes into ids, and their batch positions
local v = 0           -- 1-based index into ids of the current valid message
local conflicts = {}  -- {0-based batch position, stored digest}
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
      candidates[#candidates + 1] = v
      candidate_at[v] = i
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

-- Without redeliveries every valid message is a candidate, already looked up.
if known == nil then
  known = lookup(candidates)
end

local seen = {}  -- event_id -> digest, of this batch's fresh events
local dups = {}
local fresh = {}
for _, k in ipairs(candidates) do
  local id, i = ids[k], candidate_at[k]
  local digest = digests[k]
  local prior = known[k] or seen[id]
  if prior then
    local t = tp_of[i]
    -- '' is an id stored before digests were kept (an upgraded store): a duplicate.
    if prior == digest or prior == '' then
      dups[t] = (dups[t] or 0) + 1
    else
      conflicts[#conflicts + 1] = {i - 1, prior}
      redis.call('HINCRBY', counters_key, conflict_fields[t], 1)
      redis.call('HSET', pending_key, tps[t] .. ':' .. string.format('%d', offset_of[i]), prior)
    end
    not_fresh[#not_fresh + 1] = i - 1
    skip[#skip + 1] = k - 1
  else
    seen[id] = digest
    fresh[#fresh + 1] = k
    local f = field_of[i]
    counts[f] = (counts[f] or 0) + 1
  end
end

local entry = ''
if #fresh > 0 then
  entry = store_log(skip)
  add_ids(fresh)
else
  redis.call('DEL', staging_key)
end
write_counts(counts, dups)
write_offsets(moved)
table.sort(not_fresh)
return cmsgpack.pack({not_fresh, conflicts, entry, tick_clock()})
