"""Live state in Redis, kept equal to SQL through the event table (ARCHITECTURE.md rules 1–3).

SQL is the truth and `incident_event` is the outbox. After a commit, a writer calls
`publish_committed`, which runs `relay_step`: apply the committed events after the cursor
stored in Redis, in id order. After a Redis outage, or a process killed between commit and
publish, the next relay step (the RQ relay job, `python -m workers relay`, or the next
writer) applies what is missing the same way, so nothing is lost.

Applying one event is one Lua script, so all of it happens or none of it does:
- it checks that the cursor still names the event applied just before, and moves the cursor
  to this event: with any number of relays racing, each event is applied once and in order;
- it writes the incident's hash from the incident's *current* SQL row (read together with
  the event), unless Redis already holds a newer version (in the hash, or in the tombstone a
  closed incident leaves for an hour): a relay holding an older row never moves an incident
  backwards, and re-applying an event rewrites what is already there;
- it adds the incident to, or removes it from, the open set and the deadline sorted sets of
  every area on its path (city, town, village, grid);
- it counts the event's action in those areas' counters for the event's Asia/Shanghai day,
  only if the counter has not yet counted an event with this id or a later one, so even a
  cursor moved back by hand counts nothing twice;
- a report is pushed onto each of those areas' feed list (the newest FEED_KEEP reports,
  newest first, each self-contained so a wall can show it after the incident closed), under
  the same guard as the counters, so it is never listed twice;
- it publishes a small JSON notice on each of those areas' channels: {"seq": event id,
  "incident_id", "action", "state" and "version" (after the event), "open", "areas" (the
  path), "at"}. A wall that sees a gap in "seq" re-reads `read_area_snapshot`.

Deadline sets are kept per area at every level, not globally: each wall (city, town,
village) reads its own, and one city's set is the whole of it.

Encoding. Times are ISO 8601 strings in UTC (`datetime.isoformat()`) in hashes and notices,
and Unix seconds as sorted-set scores. A hash holds no field for a None value (it is
rewritten whole on every change); `decode_live_incident` gives every field back typed. The
description is cut to 60 bytes of UTF-8 (20 Chinese characters), so that every value fits
Redis's compact hash encoding: ~0.8 kB an incident instead of ~2.7 kB.

Expiry. Day counters expire at the start of the third local day after theirs (today's and
the two before are kept). Tombstones last an hour. Nothing else expires: an incident's keys
go when it closes.

Holes in the event ids. On SQLite writes are serialised and a row id below the largest is
never handed out again, so a missing id is never coming: the relay passes it at once. On
PostgreSQL ids come from a sequence: a transaction can take id 10 and commit after the one
that took 11, and a rolled-back insert leaves 10 missing for ever. The relay stops at a
hole until it can tell which: an INSERT holds its lock on `incident_event` from before it
takes an id until its transaction ends, so the hole is final once every transaction that
held that lock when the hole was first seen (PostgreSQL's `pg_locks`) has ended. That check
runs before the events are read again, so a late commit is read, not skipped. It is exact
where a grace period would guess, and transactions that do not write events (a metrics
rollup) never hold the feed up. A writer stuck longer than GAP_MAX_WAIT (idle in
transaction, say) is given up on with an error in the log; rebuild once it is sorted out.

Rebuild. `rebuild_live_state` wipes every live key and rewrites it from SQL: the open
incidents, today's counters and the feeds. It removes the cursor first, so racing relays stop (a relay
finding no cursor rebuilds, unless a rebuild is already running), and sets it last.
"""
from __future__ import annotations

import json
import logging
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import redis as redis_lib
from sqlalchemy import func, select, text
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from models.enums import CLOSED_STATES
from models.incident import Incident, IncidentEvent
from models.sla import CITY_ZONE
from models.types import utcnow
from workers import keys

log = logging.getLogger(__name__)

RELAY_LIMIT = 1000  # events per relay step
RELAY_PASSES = 10  # reads per step: again after losing a race to another relay (which means
# that one made progress), or after first seeing a hole
GAP_MAX_WAIT = timedelta(seconds=120)
GONE_TTL = 3600
COUNTER_DAYS = 3
DESCRIPTION_BYTES = 60  # within hash-max-ziplist-value (64): hashes stay compact
REBUILD_BATCH = 500  # incidents per Lua call, which keeps Redis busy for some 30 ms
REBUILD_LOCK_TTL = 60
SNAPSHOT_LIMIT = 500
SNAPSHOT_TRIES = 20
FEED_KEEP = 20  # reports kept per area for the walls' feed (a wall shows 8)

# The incident hash: field -> type. Areas: area_id is where it was reported, the rest its path.
# alarm_at: an unacknowledged breach (the wall flashes the incident until a lead acknowledges).
HASH_FIELDS: dict[str, type] = {
    "id": int, "version": int, "state": str, "level": str, "channel": str, "priority": str,
    "item_id": int, "category_id": int, "area_id": int, "city_id": int, "town_id": int,
    "village_id": int, "grid_id": int, "lon": float, "lat": float, "department_id": int,
    "assignee_id": int, "reported_at": datetime, "accepted_at": datetime,
    "dispatched_at": datetime, "resolved_at": datetime, "updated_at": datetime,
    "due_stage": str, "due_at": datetime, "warn_at": datetime, "due_breached": bool,
    "alarm_at": datetime, "breach_count": int, "escalation_count": int, "reassign_count": int,
    "return_count": int, "description": str,
}

# KEYS: 1 cursor, 2 hash, 3 tombstone, then per area i (from 0): 4+5i open set, 5+5i due,
#       6+5i warn, 7+5i day counters, 8+5i feed list.
# ARGV: 1 expected cursor, 2 seq, 3 incident id, 4 row version, 5 open (1/0), 6 due score,
#       7 warn score ('' = none), 8 action, 9 counters expire-at ('' = do not count),
#       10 notice, 11 tombstone ttl ('' = none), 12 n areas, 13.. n channels, then the feed
#       entry ('' = not a report), then the hash as a JSON list [field, value, ...] (one
#       argument: packing it is cheap).
APPLY_EVENT = """
local FEED_KEEP = @FEED_KEEP@
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local function num(v) if v then return tonumber(v) end return -1 end
local n, member, open = tonumber(ARGV[12]), ARGV[3], ARGV[5] == '1'
local held = math.max(num(redis.call('HGET', KEYS[2], 'version')), num(redis.call('GET', KEYS[3])))
local function place(key, score)
  if open and score ~= '' then redis.call('ZADD', key, score, member)
  else redis.call('ZREM', key, member) end
end
if tonumber(ARGV[4]) >= held then
  redis.call('DEL', KEYS[2])
  if open then
    redis.call('HSET', KEYS[2], unpack(cjson.decode(ARGV[14 + n])))
    redis.call('DEL', KEYS[3])
  elseif ARGV[11] ~= '' then
    redis.call('SET', KEYS[3], ARGV[4], 'EX', ARGV[11])
  end
  for i = 0, n - 1 do
    if open then redis.call('SADD', KEYS[4 + 5 * i], member)
    else redis.call('SREM', KEYS[4 + 5 * i], member) end
    place(KEYS[5 + 5 * i], ARGV[6])
    place(KEYS[6 + 5 * i], ARGV[7])
  end
end
if ARGV[9] ~= '' then
  for i = 0, n - 1 do
    local day, feed = KEYS[7 + 5 * i], ARGV[13 + n]
    if num(redis.call('HGET', day, '_seq')) < tonumber(ARGV[2]) then
      redis.call('HINCRBY', day, ARGV[8], 1)
      redis.call('HSET', day, '_seq', ARGV[2])
      redis.call('EXPIREAT', day, ARGV[9])
      if feed ~= '' then
        redis.call('LPUSH', KEYS[8 + 5 * i], feed)
        redis.call('LTRIM', KEYS[8 + 5 * i], 0, FEED_KEEP - 1)
      end
    end
  end
end
for i = 1, n do redis.call('PUBLISH', ARGV[12 + i], ARGV[10]) end
redis.call('SET', KEYS[1], ARGV[2])
return 1
""".replace("@FEED_KEEP@", str(FEED_KEEP))

# Rebuild: a batch of open incidents in one call. ARGV[1]: JSON list of [id, [values in the
# order of ARGV[2]'s field names, null for none], [area ids], due score, warn score];
# ARGV[3..10]: prefix and suffix of the keys of an incident, an area's open set, due and warn
# sets. KEYS[1] (the cursor) only routes the call: every live key shares its hash slot.
BULK_WRITE = """
local names, a, sets, zsets, area_keys = cjson.decode(ARGV[2]), ARGV, {}, {}, {}
local function push(groups, key, x, y)
  local items = groups[key]
  if not items then items = {}; groups[key] = items end
  items[#items + 1] = x
  if y then items[#items + 1] = y end
end
local function keys_of(area)
  local found = area_keys[area]
  if not found then
    found = {a[5] .. area .. a[6], a[7] .. area .. a[8], a[9] .. area .. a[10]}
    area_keys[area] = found
  end
  return found
end
local null = cjson.null
for _, incident in ipairs(cjson.decode(ARGV[1])) do
  local id, values, areas, due, warn = incident[1], incident[2], incident[3], incident[4], incident[5]
  local hash = {}
  for i, name in ipairs(names) do
    if values[i] ~= null then hash[#hash + 1] = name; hash[#hash + 1] = values[i] end
  end
  redis.call('HSET', a[3] .. id .. a[4], unpack(hash))
  for _, area in ipairs(areas) do
    local k = keys_of(area)
    push(sets, k[1], id)
    if due ~= null then push(zsets, k[2], due, id) end
    if warn ~= null then push(zsets, k[3], warn, id) end
  end
end
local function write(command, groups)
  for key, items in pairs(groups) do
    for i = 1, #items, 1000 do
      redis.call(command, key, unpack(items, i, math.min(i + 999, #items)))
    end
  end
end
write('SADD', sets)
write('ZADD', zsets)
return 1
"""

RELEASE_LOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class RebuildRunning(RuntimeError):
    """Another process is rebuilding the live state."""


# ---------------------------------------------------------------- encoding

def shorten(description: str) -> str:
    """At most DESCRIPTION_BYTES of UTF-8, cut at a character."""
    return description.encode()[:DESCRIPTION_BYTES].decode(errors="ignore")


# str() of a string enum is its value.
ENCODE_BY_TYPE = {int: str, str: str, float: repr, datetime: datetime.isoformat,
                  bool: lambda value: "1" if value else "0"}
ENCODERS = {name: ENCODE_BY_TYPE[kind] for name, kind in HASH_FIELDS.items()} | {
    "description": shorten}


def build_live_fields(row) -> dict[str, str]:
    """The hash of an incident row (an Incident, or a row with the same attribute names)."""
    return {name: encode(value) for name, encode in ENCODERS.items()
            if (value := getattr(row, name)) is not None}


def flatten(mapping: dict) -> list:
    return [part for pair in mapping.items() for part in pair]


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else value


def decode_live_incident(fields: dict) -> dict:
    """A stored hash with typed values; every field of HASH_FIELDS is present (None if unset)."""
    raw = {_text(k): _text(v) for k, v in fields.items()}
    decoded = {}
    for name, kind in HASH_FIELDS.items():
        value = raw.get(name)
        if value is None:
            decoded[name] = None
        elif kind is bool:
            decoded[name] = value == "1"
        elif kind is datetime:
            decoded[name] = datetime.fromisoformat(value)
        else:
            decoded[name] = kind(value)
    return decoded


def score(value: datetime | None) -> str:
    return repr(value.timestamp()) if value else ""


def area_path(row) -> tuple[int, ...]:
    ids = (row.city_id, row.town_id, row.village_id, row.grid_id, row.area_id)
    return tuple(dict.fromkeys(i for i in ids if i is not None))


def local_day(moment: datetime) -> date:
    return moment.astimezone(CITY_ZONE).date()


def day_start(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), CITY_ZONE)


def counter_expiry(day: date) -> int:
    return int(day_start(day + timedelta(days=COUNTER_DAYS)).timestamp())


def build_notice(row) -> str:
    return json.dumps({
        "seq": row.seq, "incident_id": row.id, "action": row.action,
        "state": str(row.to_state), "version": row.event_version,
        "open": row.to_state not in CLOSED_STATES, "areas": list(area_path(row)),
        "at": row.at.isoformat(),
    }, separators=(",", ":"))


def build_feed_entry(row) -> str:
    """A report as the walls' feed lists it: enough to show it without its incident's hash."""
    return json.dumps({
        "id": row.id, "item_id": row.item_id, "town_id": row.town_id, "village_id": row.village_id,
        "reported_at": row.reported_at.isoformat() if row.reported_at else None,
        "description": shorten(row.description or ""),
    }, ensure_ascii=False, separators=(",", ":"))


def decode_feed_entry(entry: str) -> dict:
    """A feed list's entry (build_feed_entry) with its report time typed."""
    stored = json.loads(entry)
    reported = stored.get("reported_at")
    return stored | {"reported_at": datetime.fromisoformat(reported) if reported else None}


# ---------------------------------------------------------------- reading SQL

def _incident_columns() -> list:
    columns = [getattr(Incident, name) for name in HASH_FIELDS if name != "description"]
    return columns + [func.substr(Incident.description, 1, DESCRIPTION_BYTES).label("description")]


def read_connection(session: Session) -> Connection:
    """A connection of our own on the session's engine. READ COMMITTED on PostgreSQL: each
    statement sees what committed before it began (the hole rule depends on that)."""
    conn = session.get_bind().connect()
    if conn.dialect.name == "postgresql":
        conn.execution_options(isolation_level="READ COMMITTED")
    return conn


def list_events_after(conn: Connection, cursor: int, limit: int) -> list[Row]:
    """Committed events after `cursor`, each with its incident's current row."""
    query = (
        select(IncidentEvent.id.label("seq"), IncidentEvent.action, IncidentEvent.to_state,
               IncidentEvent.version.label("event_version"), IncidentEvent.at,
               *_incident_columns())
        .join(Incident, Incident.id == IncidentEvent.incident_id)
        .where(IncidentEvent.id > cursor).order_by(IncidentEvent.id).limit(limit)
    )
    return list(conn.execute(query))


def list_event_writers(conn: Connection) -> frozenset[str]:
    """Other transactions that are writing the event table now (always none on SQLite)."""
    if conn.dialect.name == "sqlite":
        return frozenset()
    rows = conn.execute(text(
        "SELECT virtualtransaction FROM pg_locks WHERE locktype = 'relation'"
        " AND relation = to_regclass(:table) AND mode = 'RowExclusiveLock'"
        " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        " AND pid IS DISTINCT FROM pg_backend_pid()"), {"table": IncidentEvent.__tablename__})
    return frozenset(rows.scalars())


def get_last_event_id(conn: Connection) -> int:
    return conn.scalar(select(func.max(IncidentEvent.id))) or 0


# ---------------------------------------------------------------- applying events

def build_apply_args(row, expected: int, now: datetime) -> tuple[list[str], list]:
    """KEYS and ARGV of APPLY_EVENT for one event row."""
    path, is_open = area_path(row), row.state not in CLOSED_STATES
    day = local_day(row.at)
    expire_at = counter_expiry(day)
    script_keys = [keys.LIVE_CURSOR, keys.LIVE_INCIDENT.format(incident_id=row.id),
                   keys.LIVE_GONE.format(incident_id=row.id)]
    for area_id in path:
        script_keys += [keys.LIVE_AREA_OPEN.format(area_id=area_id),
                        keys.LIVE_AREA_DUE.format(area_id=area_id),
                        keys.LIVE_AREA_WARN.format(area_id=area_id),
                        keys.LIVE_AREA_DAY.format(area_id=area_id, day=day.isoformat()),
                        keys.LIVE_AREA_FEED.format(area_id=area_id)]
    counting = expire_at > now.timestamp()
    args = [expected, row.seq, row.id, row.version, int(is_open), score(row.due_at),
            score(row.warn_at), row.action, expire_at if counting else "", build_notice(row),
            GONE_TTL if is_recent(row, now) else "", len(path),
            *(keys.CHANNEL_AREA.format(area_id=a) for a in path),
            build_feed_entry(row) if row.action == "report" else ""]
    if is_open:
        args.append(json.dumps(flatten(build_live_fields(row)), ensure_ascii=False))
    return script_keys, args


def is_recent(row, now: datetime) -> bool:
    """Whether an incident changed within the tombstone's life. Only then can a relay still
    hold an older open row of it; older closings need no tombstone (and replaying their
    events must not add one)."""
    return row.updated_at > now - timedelta(seconds=GONE_TTL)


def apply_events(redis, cursor: int, rows: list[Row], now: datetime) -> int:
    """Apply `rows` (in id order, the first right after `cursor`); how many were applied."""
    if not rows:
        return 0
    script = redis.register_script(APPLY_EVENT)
    with redis.pipeline(transaction=False) as pipe:
        expected = cursor
        for row in rows:
            script_keys, args = build_apply_args(row, expected, now)
            script(keys=script_keys, args=args, client=pipe)
            expected = row.seq
        return sum(pipe.execute())


# ---------------------------------------------------------------- holes in the ids

@dataclass
class RelayState:
    cursor: int
    gaps: dict[int, dict] = field(default_factory=dict)


def read_relay_state(redis) -> RelayState | None:
    """The cursor and the holes being waited on; None when Redis has no cursor."""
    with redis.pipeline(transaction=False) as pipe:
        pipe.get(keys.LIVE_CURSOR)
        pipe.hgetall(keys.LIVE_GAPS)
        cursor, gaps = pipe.execute()
    if cursor is None:
        return None
    state = RelayState(int(cursor), {int(k): json.loads(v) for k, v in gaps.items()})
    forget_passed_gaps(redis, state.gaps, state.cursor)
    return state


def forget_passed_gaps(redis, gaps: dict[int, dict], cursor: int) -> None:
    passed = [k for k in gaps if k <= cursor]
    if passed:
        redis.hdel(keys.LIVE_GAPS, *passed)
        for k in passed:
            del gaps[k]


def note_hole(conn: Connection, redis, missing: int, now: datetime) -> None:
    """Remember when a hole was first seen and who was writing events then."""
    record = {"seen": now.timestamp(), "writers": sorted(list_event_writers(conn))}
    redis.hsetnx(keys.LIVE_GAPS, missing, json.dumps(record))


def is_hole_final(record: dict, writers_before: frozenset[str], missing: int,
                  now: datetime) -> bool:
    """Whether a hole seen before can no longer fill (see the module docstring)."""
    if not set(record["writers"]) & writers_before:
        return True
    if now.timestamp() - record["seen"] > GAP_MAX_WAIT.total_seconds():
        log.error("live relay: event %s is still not committed after %s; passing it (rebuild "
                  "the live state once its writer is gone)", missing, GAP_MAX_WAIT)
        return True
    return False


@dataclass
class Ready:
    rows: list[Row]
    noted_hole: bool = False  # a hole seen for the first time: another pass can judge it


def take_ready(conn: Connection, redis, state: RelayState, events: list[Row],
               writers_before: frozenset[str], now: datetime) -> Ready:
    """The events that may be applied now: those before the first hole that may still fill."""
    previous = state.cursor
    for i, event in enumerate(events):
        missing = previous + 1
        if event.seq != missing and conn.dialect.name != "sqlite":
            record = state.gaps.get(missing)
            if record is None:
                note_hole(conn, redis, missing, now)
                return Ready(events[:i], noted_hole=True)
            if not is_hole_final(record, writers_before, missing, now):
                return Ready(events[:i])
        previous = event.seq
    return Ready(events)


# ---------------------------------------------------------------- the relay

def relay_pass(conn: Connection, redis, limit: int, now: datetime) -> tuple[int, bool] | None:
    """Read once and apply: (events applied, whether another pass may apply more now).
    None when Redis has no cursor (new, flushed or restarted without its data)."""
    state = read_relay_state(redis)
    if state is None:
        return None
    # Who writes events must be read before the events, so a hole whose writers have all
    # ended is final: had one of them committed, this read of the events would show it.
    writers_before = list_event_writers(conn) if state.gaps else frozenset()
    events = list_events_after(conn, state.cursor, limit)
    step = take_ready(conn, redis, state, events, writers_before, now)
    applied = apply_events(redis, state.cursor, step.rows, now)
    if state.gaps and applied:
        forget_passed_gaps(redis, state.gaps, read_cursor(redis) or 0)
    return applied, applied < len(step.rows) or step.noted_hole


def relay_step(session: Session, redis, *, limit: int = RELAY_LIMIT,
               now: datetime | None = None) -> int:
    """Apply committed events after the cursor, in id order, idempotently; how many.

    Reads through a connection of its own (the session's engine), so it never sees the
    caller's uncommitted writes. Rebuilds first when Redis has no cursor at all.
    """
    now = now or utcnow()
    applied = 0
    with read_connection(session) as conn:
        for _ in range(RELAY_PASSES):
            result = relay_pass(conn, redis, limit - applied, now)
            if result is None:
                if not rebuild_unless_running(session, redis, now):
                    return applied
                continue
            done, again = result
            applied += done
            if not again or applied >= limit:
                break
            conn.rollback()  # end the read transaction so the next pass sees new commits
    return applied


def rebuild_unless_running(session: Session, redis, now: datetime) -> bool:
    try:
        summary = rebuild_live_state(session, redis, now=now)
    except RebuildRunning:
        return False
    log.warning("live state had no cursor; rebuilt it from SQL: %s", summary)
    return True


def publish_committed(session_factory: sessionmaker[Session], redis, *,
                      now: datetime | None = None) -> int:
    """Bring the live state up to date after a commit; how many events were applied.

    Never raises on a Redis (or database) failure: the commit stands, a warning is logged
    and the relay catches up later.
    """
    applied = 0
    try:
        with session_factory() as session:
            while True:
                done = relay_step(session, redis, now=now)
                applied += done
                if done < RELAY_LIMIT:
                    return applied
    except (redis_lib.RedisError, SQLAlchemyError) as exc:
        log.warning("live state not updated after commit (%s); the relay will catch up", exc)
        return applied


# ---------------------------------------------------------------- rebuild

def take_rebuild_lock(redis) -> str:
    token = uuid.uuid4().hex
    if not redis.set(keys.LIVE_REBUILD_LOCK, token, nx=True, ex=REBUILD_LOCK_TTL):
        raise RebuildRunning("a rebuild of the live state is already running")
    return token


def wipe_live_keys(redis) -> int:
    doomed = [k for k in redis.scan_iter(match=keys.LIVE_PREFIX + "*", count=1000)
              if _text(k) != keys.LIVE_REBUILD_LOCK]
    for start in range(0, len(doomed), 1000):
        redis.unlink(*doomed[start:start + 1000])
    return len(doomed)


def wait_for_event_writers(conn: Connection) -> None:
    """Wait until the transactions writing events now have ended (bounded by GAP_MAX_WAIT)."""
    waiting, deadline = list_event_writers(conn), time.monotonic() + GAP_MAX_WAIT.total_seconds()
    while waiting and time.monotonic() < deadline:
        time.sleep(0.05)
        conn.rollback()
        waiting &= list_event_writers(conn)
    if waiting:
        log.error("live rebuild: transactions %s still write events; going on without them",
                  sorted(waiting))


def list_open_rows(conn: Connection, batch: int) -> Iterator[list[Row]]:
    query = select(*_incident_columns()).where(Incident.state.not_in(CLOSED_STATES))
    yield from conn.execute(query.execution_options(yield_per=batch)).partitions()


def split_template(template: str, name: str) -> list[str]:
    return template.format(**{name: "\0"}).split("\0")


def build_bulk_args(rows: list[Row]) -> list[str]:
    """BULK_WRITE's arguments for a batch of open incidents."""
    batch = []
    for row in rows:
        fields = build_live_fields(row)
        batch.append([str(row.id), [fields.get(name) for name in HASH_FIELDS],
                      [str(a) for a in area_path(row)], score(row.due_at) or None,
                      score(row.warn_at) or None])
    return [json.dumps(batch, ensure_ascii=False), json.dumps(list(HASH_FIELDS)),
            *split_template(keys.LIVE_INCIDENT, "incident_id"),
            *split_template(keys.LIVE_AREA_OPEN, "area_id"),
            *split_template(keys.LIVE_AREA_DUE, "area_id"),
            *split_template(keys.LIVE_AREA_WARN, "area_id")]


def write_open_incidents(conn: Connection, redis, batch: int) -> int:
    """Write batch after batch; Redis runs one while the next is read and encoded."""
    bulk_write, count, sent = redis.register_script(BULK_WRITE), 0, None
    with ThreadPoolExecutor(1) as sender:
        for rows in list_open_rows(conn, batch):
            args = build_bulk_args(rows)
            if sent is not None:
                sent.result()
            sent = sender.submit(bulk_write, keys=[keys.LIVE_CURSOR], args=args)
            redis.expire(keys.LIVE_REBUILD_LOCK, REBUILD_LOCK_TTL)
            count += len(rows)
        if sent is not None:
            sent.result()
    return count


def write_tombstones(conn: Connection, redis, now: datetime) -> None:
    """Tombstones for the incidents that closed within their life (see `is_recent`)."""
    cutoff = now - timedelta(seconds=GONE_TTL)
    query = (select(Incident.id, Incident.version).distinct()
             .join(IncidentEvent, IncidentEvent.incident_id == Incident.id)
             .where(IncidentEvent.at > cutoff, Incident.state.in_(CLOSED_STATES)))
    with redis.pipeline(transaction=False) as pipe:
        for incident_id, version in conn.execute(query):
            pipe.set(keys.LIVE_GONE.format(incident_id=incident_id), version, ex=GONE_TTL)
        pipe.execute()


def count_day_events(conn: Connection, day: date, last_id: int) -> dict[int, dict[str, int]]:
    """Events per area (every level) and action on one local day, up to event `last_id`;
    "_seq" is the last event counted, as the relay keeps it."""
    path = (Incident.city_id, Incident.town_id, Incident.village_id, Incident.grid_id,
            Incident.area_id)
    query = (
        select(*path, IncidentEvent.action, func.count(), func.max(IncidentEvent.id))
        .join(Incident, Incident.id == IncidentEvent.incident_id)
        .where(IncidentEvent.id <= last_id, IncidentEvent.at >= day_start(day),
               IncidentEvent.at < day_start(day + timedelta(days=1)))
        .group_by(*path, IncidentEvent.action)
    )
    counts: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in conn.execute(query):
        *_, action, number, last = row
        for area_id in area_path(row):
            counts[area_id][action] += number
            counts[area_id]["_seq"] = max(counts[area_id]["_seq"], last)
    return counts


def write_day_counts(redis, day: date, counts: dict[int, dict[str, int]]) -> None:
    with redis.pipeline(transaction=False) as pipe:
        for area_id, by_action in counts.items():
            key = keys.LIVE_AREA_DAY.format(area_id=area_id, day=day.isoformat())
            pipe.hset(key, mapping=by_action)
            pipe.expireat(key, counter_expiry(day))
        pipe.execute()


def write_feeds(conn: Connection, redis, now: datetime, last_id: int) -> None:
    """Each area's feed list, newest first, from the reports the relay would have listed:
    those of the days whose counters are kept (today and the COUNTER_DAYS - 1 before)."""
    query = (
        select(IncidentEvent.id.label("seq"), *_incident_columns())
        .join(Incident, Incident.id == IncidentEvent.incident_id)
        .where(IncidentEvent.action == "report", IncidentEvent.id <= last_id,
               IncidentEvent.at >= day_start(local_day(now) - timedelta(days=COUNTER_DAYS - 1)))
        .order_by(IncidentEvent.id.desc())
    )
    feeds: dict[int, list[str]] = defaultdict(list)
    for row in conn.execute(query.execution_options(yield_per=2000)):
        for area_id in area_path(row):
            if len(feeds[area_id]) < FEED_KEEP:
                feeds[area_id].append(build_feed_entry(row))
    with redis.pipeline(transaction=False) as pipe:
        for area_id, entries in feeds.items():
            pipe.rpush(keys.LIVE_AREA_FEED.format(area_id=area_id), *entries)
        pipe.execute()


def rebuild_live_state(session: Session, redis, *, now: datetime | None = None,
                       batch: int = REBUILD_BATCH) -> dict:
    """Wipe all live keys and rebuild them from SQL (open incidents, today's counters, feeds).

    Raises RebuildRunning when another rebuild holds the lock.
    """
    now, started = now or utcnow(), time.monotonic()
    token = take_rebuild_lock(redis)
    try:
        redis.delete(keys.LIVE_CURSOR)  # relays stop here until the rebuild is done
        wipe_live_keys(redis)
        with read_connection(session) as conn:
            last_id = get_last_event_id(conn)
            wait_for_event_writers(conn)  # every id up to last_id is now committed or never
            conn.rollback()
            incidents = write_open_incidents(conn, redis, batch)
            write_tombstones(conn, redis, now)
            day = local_day(now)
            write_day_counts(redis, day, count_day_events(conn, day, last_id))
            write_feeds(conn, redis, now, last_id)
        redis.set(keys.LIVE_CURSOR, last_id)
    finally:
        redis.register_script(RELEASE_LOCK)(keys=[keys.LIVE_REBUILD_LOCK], args=[token])
    return {"incidents": incidents, "cursor": last_id, "day": day.isoformat(),
            "seconds": round(time.monotonic() - started, 2)}


# ---------------------------------------------------------------- reading live state

def read_live_incident(redis, incident_id: int) -> dict | None:
    fields = redis.hgetall(keys.LIVE_INCIDENT.format(incident_id=incident_id))
    return decode_live_incident(fields) if fields else None


def read_cursor(redis) -> int | None:
    value = redis.get(keys.LIVE_CURSOR)
    return int(value) if value is not None else None


def build_band(incident: dict, now: datetime) -> str:
    """The wall's colour: red (breached or past due), amber (75 % used), green."""
    if incident["due_breached"] or (incident["due_at"] and incident["due_at"] <= now):
        return "red"
    if incident["warn_at"] and incident["warn_at"] <= now:
        return "amber"
    return "green"


def list_snapshot_ids(pipe, area_id: int, limit: int | None) -> list[tuple[int, float | None]]:
    """Open incidents of an area, soonest deadline first, then those without one."""
    stop = -1 if limit is None else limit - 1
    due = [(int(m), s) for m, s in pipe.zrange(keys.LIVE_AREA_DUE.format(area_id=area_id), 0, stop,
                                               withscores=True)]
    if limit is not None and len(due) >= limit:
        return due
    members = pipe.smembers(keys.LIVE_AREA_OPEN.format(area_id=area_id))
    dated = {m for m, _ in due}
    undated = sorted(int(m) for m in members if int(m) not in dated)
    rest = undated if limit is None else undated[:limit - len(due)]
    return due + [(m, None) for m in rest]


def read_area_snapshot(redis, area_id: int, *, now: datetime | None = None,
                       limit: int | None = SNAPSHOT_LIMIT) -> dict:
    """What a wall needs to (re)start, read atomically with the cursor ("seq"): counts, today's
    events per action, and the open incidents, soonest deadline first (at most `limit`)."""
    now = now or utcnow()
    day = local_day(now).isoformat()
    with redis.pipeline() as pipe:
        for _ in range(SNAPSHOT_TRIES):
            try:
                return _read_snapshot(pipe, area_id, now, day, limit)
            except redis_lib.WatchError:
                continue
    raise RuntimeError(f"the live state of area {area_id} kept changing; try again")


def _read_snapshot(pipe, area_id: int, now: datetime, day: str, limit: int | None) -> dict:
    pipe.watch(keys.LIVE_CURSOR)  # every change to live state moves the cursor
    listed = list_snapshot_ids(pipe, area_id, limit)
    moment = now.timestamp()
    pipe.multi()
    pipe.get(keys.LIVE_CURSOR)
    pipe.scard(keys.LIVE_AREA_OPEN.format(area_id=area_id))
    pipe.zcount(keys.LIVE_AREA_DUE.format(area_id=area_id), "-inf", moment)
    pipe.zcount(keys.LIVE_AREA_WARN.format(area_id=area_id), "-inf", moment)
    pipe.hgetall(keys.LIVE_AREA_DAY.format(area_id=area_id, day=day))
    for incident_id, _ in listed:
        pipe.hgetall(keys.LIVE_INCIDENT.format(incident_id=incident_id))
    seq, open_count, overdue, warned, today, *hashes = pipe.execute()
    incidents = [decode_live_incident(h) for h in hashes if h]
    for incident in incidents:
        incident["band"] = build_band(incident, now)
    return {
        "area_id": area_id, "seq": int(seq) if seq is not None else None, "at": now.isoformat(),
        "counts": {"open": open_count, "overdue": overdue, "amber": max(warned - overdue, 0)},
        "today": {_text(k): int(v) for k, v in today.items() if _text(k) != "_seq"},
        "incidents": incidents,
    }
