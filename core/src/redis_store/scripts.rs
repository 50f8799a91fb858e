//! The Lua scripts of the Redis store. Each runs atomically on the one server (or, on a
//! cluster, the one master) that holds every key it is given; on a cluster that holds because
//! every key of one call carries the same hash tag (see [`super::keys`]).

/// KEYS: per limit, its window (a sorted set) then its sequence, in separate namespaces so
/// neither can ever be the other's key: for a count `win:` and `seq:` (a string), for a budget
/// `bwin:` and `bsum:` (a hash: `seq`, and `sum`, the exact total of the live weights).
/// ARGV: now_ms, consume (0/1), then (limit, window_ms, weight) per limit, weight `-` for a
/// count. Returns `{"0", member...}` when every limit has room (recording the request if
/// consume=1; a member is what was added to each window, `""` when nothing was), else `{"i"}`,
/// the 1-based index of the first full one. A budget's members are `time:seq:weight`; weights
/// are integers (millionths) passed as strings and summed with HINCRBY, so totals stay exact.
/// The members let a caller take back what it recorded ([`REFUND_SCRIPT`]).
pub(super) const WINDOW_SCRIPT: &str = r#"
local now = tonumber(ARGV[1])
local consume = ARGV[2] == "1"
local times = {}
for i = 1, #KEYS / 2 do
  local key, meta = KEYS[2 * i - 1], KEYS[2 * i]
  local limit = tonumber(ARGV[3 * i])
  local window = tonumber(ARGV[3 * i + 1])
  local weight = ARGV[3 * i + 2]
  local t = now
  local newest = redis.call("ZREVRANGE", key, 0, 0, "WITHSCORES")
  if newest[2] and tonumber(newest[2]) > t then t = tonumber(newest[2]) end
  if weight == "-" then
    redis.call("ZREMRANGEBYSCORE", key, "-inf", t - window)
    if redis.call("ZCARD", key) >= limit then return {tostring(i)} end
  else
    local old = redis.call("ZRANGEBYSCORE", key, "-inf", t - window)
    for _, m in ipairs(old) do
      redis.call("HINCRBY", meta, "sum", "-" .. string.match(m, ":(%d+)$"))
    end
    if #old > 0 then redis.call("ZREMRANGEBYSCORE", key, "-inf", t - window) end
    local sum = tonumber(redis.call("HGET", meta, "sum") or "0")
    if sum + tonumber(weight) > limit then return {tostring(i)} end
  end
  times[i] = t
end
local added = {"0"}
if consume then
  for i = 1, #KEYS / 2 do
    local key, meta = KEYS[2 * i - 1], KEYS[2 * i]
    local window = tonumber(ARGV[3 * i + 1])
    local weight = ARGV[3 * i + 2]
    local member = ""
    if weight == "-" then
      local seq = redis.call("INCR", meta)
      member = times[i] .. ":" .. seq
      redis.call("ZADD", key, times[i], member)
      redis.call("PEXPIRE", key, window)
      redis.call("PEXPIRE", meta, window)
    elseif weight ~= "0" then
      local seq = redis.call("HINCRBY", meta, "seq", 1)
      redis.call("HINCRBY", meta, "sum", weight)
      member = times[i] .. ":" .. seq .. ":" .. weight
      redis.call("ZADD", key, times[i], member)
      redis.call("PEXPIRE", key, window)
      redis.call("PEXPIRE", meta, window)
    end
    added[i + 1] = member
  end
end
return added
"#;

/// KEYS: per limit, its window and its sequence/sum (as for [`WINDOW_SCRIPT`]). ARGV: per
/// limit, the member [`WINDOW_SCRIPT`] added (`""`: none) and its weight (`-` for a count).
/// Removes each member that is still there and takes its weight off the budget's sum, so a
/// request recorded in one group of keys but refused by another is not charged.
pub(super) const REFUND_SCRIPT: &str = r#"
for i = 1, #KEYS / 2 do
  local member, weight = ARGV[2 * i - 1], ARGV[2 * i]
  if member ~= "" and redis.call("ZREM", KEYS[2 * i - 1], member) == 1 and weight ~= "-" then
    redis.call("HINCRBY", KEYS[2 * i], "sum", "-" .. weight)
  end
end
return 0
"#;

/// KEYS: a breaker's denials (a sorted set), its open-until time (a string), its sequence.
/// ARGV: now_ms, window_ms, max_denials, cool_down_ms. Returns the open-until time if the breaker
/// is open (already, or opened by this denial), else 0. Denials while open are not counted.
pub(super) const BREAKER_SCRIPT: &str = r#"
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local cool = tonumber(ARGV[4])
local open = tonumber(redis.call("GET", KEYS[2]) or "0")
if open > now then return open end
local seq = redis.call("INCR", KEYS[3])
redis.call("PEXPIRE", KEYS[3], window)
redis.call("ZREMRANGEBYSCORE", KEYS[1], "-inf", now - window)
redis.call("ZADD", KEYS[1], now, now .. ":" .. seq)
redis.call("PEXPIRE", KEYS[1], window)
if redis.call("ZCARD", KEYS[1]) >= tonumber(ARGV[3]) then
  redis.call("DEL", KEYS[1])
  redis.call("SET", KEYS[2], now + cool, "PX", cool)
  return now + cool
end
return 0
"#;
