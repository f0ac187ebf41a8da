"""Hotspots: reports per grid, village and town over rolling windows, and how unusual they are.

Counts. Each area (grid, village, town) has a Redis hash of 5-minute buckets (field = Unix
seconds // 300, value = reports whose incident.reported_at falls in it). A window is the sum
of the buckets from the one holding `now - window` up to the one holding `now`, so "1 h" is
1 h to 1 h 5 min, at 5-minute resolution. A report is a report: nothing is excluded (closed,
rejected or duplicate incidents count, as they did when reported).

Keeping them. `hotspot_step` is a consumer with its own cursor (HOT_CURSOR) over
`incident_event`: it reads "report" events after the cursor in id order, with the incident's
area path and reported_at, and applies them in one Lua script that first checks the cursor
still holds the value it read, then increments the buckets and moves the cursor. Applying
twice changes nothing, and racing steps apply each event once. Reports older than 7 days
are not counted. `reconcile` recomputes every bucket of the last 7 days (and the baselines)
from SQL in one statement, so the counts and the cursor it writes come from one snapshot,
and replaces all hotspot keys in one MULTI/EXEC. A step that raced it is either overwritten
(and re-applies its events on top of the reconcile's older cursor) or applies after it.
Known gap: on PostgreSQL an event id committed late below the cursor (a sequence hole) is
missed by the step until the next reconcile repairs it; run reconcile every few minutes.

Anomaly. The baseline of an area for an hour of the week is the mean number of reports in
that hour over the 4 weeks before (the 672 hours ending 24 h before the reconcile, so every
hour from a day back to a day ahead is averaged over its 4 most recent previous-week
occurrences, and the current hour never counts in its own baseline). `expected` for the
rolling 1 h window is the baselines of the two clock hours it overlaps, weighted by overlap,
floored at LAMBDA_FLOOR (half a report in 4 weeks) so an area with no history is not
infinitely surprised by one report. `p` = P(X >= count_1h) for X ~ Poisson(expected), and
`score` = -log10(p): 0 for nothing unusual, 2 for a 1-in-100 hour, 6 for one in a million.
The wall flags high scores, not high counts.
"""
from __future__ import annotations

import math
from collections import defaultdict
from datetime import datetime

from redis.commands.core import Script
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.enums import Action
from models.incident import Incident, IncidentEvent
from models.types import utcnow
from workers import keys

BUCKET = 300                    # seconds per bucket
WINDOWS = {"count_1h": 3600, "count_24h": 86400, "count_7d": 7 * 86400}
KEEP = 7 * 86400                # buckets older than this are not counted
TTL = 8 * 86400                 # a bucket hash expires this long after its last report
WEEK_HOURS = 168
BASELINE_WEEKS = 4
BASELINE_LAG = 24               # hours between the end of the baseline data and the reconcile
LAMBDA_FLOOR = 0.5 / BASELINE_WEEKS  # half a report in that hour over the 4 weeks
STEP_LIMIT = 1000
LEVELS = ("grid", "village", "town")
PARENT = {"grid": "village", "village": "town", "town": "city"}

# KEYS[1] = cursor, then one buckets key per increment. ARGV = expected cursor, new cursor,
# ttl, then (field, level, area, parent) per increment, in KEYS order.
APPLY_REPORTS = """
local cursor = tonumber(redis.call('GET', KEYS[1]) or '0')
if cursor ~= tonumber(ARGV[1]) then return -1 end
for i = 2, #KEYS do
  local j = 4 + (i - 2) * 4
  redis.call('HINCRBY', KEYS[i], ARGV[j], 1)
  redis.call('EXPIRE', KEYS[i], ARGV[3])
  redis.call('SADD', 'grid:{hot}:level:' .. ARGV[j + 1], ARGV[j + 2])
  redis.call('SADD', 'grid:{hot}:children:' .. ARGV[j + 3], ARGV[j + 2])
end
redis.call('SET', KEYS[1], ARGV[2])
return #KEYS - 1
"""

# The wall's map in one call: KEYS = the parent's children set and the level's set; ARGV =
# the 24-hour window's first bucket, the 1-hour window's first bucket, the current bucket,
# the two baseline slots of the rolling hour, then the buckets and baseline key names of
# an area split around its id. For each child: {id, 24 h count, 1 h count, the two slots'
# baselines ('' for none)}.
# A hash holds one field per 5-minute bucket with reports, up to 8 days (2,304). When it
# has many more fields than the window, the window's buckets are read by name (HMGET), so
# a busy town's 24 hours (289 of 2,304) is not a scan of its week; a sparse hash is scanned
# (HGETALL) once for both windows: small hashes are stored compact, and looking fields up
# by name in one costs a scan per field.
READ_CHILDREN = """
local wide_first, narrow_first, last = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local names = nil
local function window_sums(key)
  local size, wide, narrow = redis.call('HLEN', key), 0, 0
  if (last - wide_first + 1) * 4 < size then
    if names == nil then
      names = {}
      for bucket = wide_first, last do names[#names + 1] = tostring(bucket) end
    end
    local values = redis.call('HMGET', key, unpack(names))
    for j = 1, #names do
      if values[j] then
        local n = tonumber(values[j])
        wide = wide + n
        if wide_first + j - 1 >= narrow_first then narrow = narrow + n end
      end
    end
  elseif size > 0 then
    local fields = redis.call('HGETALL', key)
    for j = 1, #fields, 2 do
      local bucket = tonumber(fields[j])
      if bucket >= wide_first and bucket <= last then
        local n = tonumber(fields[j + 1])
        wide = wide + n
        if bucket >= narrow_first then narrow = narrow + n end
      end
    end
  end
  return wide, narrow
end
local out = {}
for _, id in ipairs(redis.call('SINTER', KEYS[1], KEYS[2])) do
  local wide, narrow = window_sums(ARGV[6] .. id .. ARGV[7])
  local base = redis.call('HMGET', ARGV[8] .. id .. ARGV[9], ARGV[4], ARGV[5])
  out[#out + 1] = {id, wide, narrow, base[1] or '', base[2] or ''}
end
return out
"""
_READ_CHILDREN = Script(None, READ_CHILDREN.encode())  # run by its SHA1 (EVALSHA), not resent


# ---------------------------------------------------------------- Poisson tail

def poisson_log_tail(n: int, lam: float) -> float:
    """log P(X >= n) for X ~ Poisson(lam), stable for tiny tails (no underflow)."""
    if n <= 0:
        return 0.0
    if lam <= 0:
        return -math.inf
    if n <= lam:  # the tail is large here: 1 - P(X < n) loses nothing
        head = sum(math.exp(k * math.log(lam) - lam - math.lgamma(k + 1)) for k in range(n))
        return math.log(max(1.0 - head, 5e-324))
    log_term = n * math.log(lam) - lam - math.lgamma(n + 1)
    total, term, k = 1.0, 1.0, n
    while term > 1e-17 * total:  # terms after n shrink by lam / (k + 1) < 1
        k += 1
        term *= lam / k
        total += term
    return log_term + math.log(total)


def poisson_tail(n: int, lam: float) -> float:
    """P(X >= n) for X ~ Poisson(lam); 1 for n <= 0, 0 for n > 0 when lam == 0."""
    return math.exp(poisson_log_tail(n, lam))


def anomaly_score(n: int, lam: float) -> float:
    """-log10 of the Poisson upper tail, with lam floored at LAMBDA_FLOOR."""
    return -poisson_log_tail(n, max(lam, LAMBDA_FLOOR)) / math.log(10)


# ---------------------------------------------------------------- time arithmetic

def bucket_of(moment: datetime) -> int:
    return int(moment.timestamp()) // BUCKET


def hour_of_week(hour: int) -> int:
    """Hour-of-week slot of an absolute UTC hour number (Unix seconds // 3600)."""
    return hour % WEEK_HOURS


def area_entries(row) -> list[tuple[str, int, int]]:
    """(level, area id, parent id) for each level the incident has an area at."""
    ids = {"grid": row.grid_id, "village": row.village_id, "town": row.town_id,
           "city": row.city_id}
    return [(level, ids[level], ids[PARENT[level]] or 0) for level in LEVELS if ids[level]]


# ---------------------------------------------------------------- the step

def list_reports_after(session: Session, cursor: int, limit: int) -> list:
    query = (
        select(IncidentEvent.id.label("seq"), Incident.reported_at, Incident.grid_id,
               Incident.village_id, Incident.town_id, Incident.city_id)
        .join(Incident, Incident.id == IncidentEvent.incident_id)
        .where(IncidentEvent.id > cursor, IncidentEvent.action == Action.REPORT.value)
        .order_by(IncidentEvent.id).limit(limit)
    )
    return list(session.execute(query))


def build_step_args(rows: list, cursor: int, now: datetime) -> tuple[list[str], list]:
    keys_, argv = [keys.HOT_CURSOR], [cursor, rows[-1].seq, TTL]
    oldest = bucket_of(now) - KEEP // BUCKET
    for row in rows:
        field = bucket_of(row.reported_at)
        if field < oldest:
            continue
        for level, area_id, parent_id in area_entries(row):
            keys_.append(keys.HOT_BUCKETS.format(area_id=area_id))
            argv += [field, level, area_id, parent_id]
    return keys_, argv


def read_hot_cursor(redis) -> int:
    return int(redis.get(keys.HOT_CURSOR) or 0)


def hotspot_step(session: Session, redis, *, limit: int = STEP_LIMIT,
                 now: datetime | None = None) -> bool:
    """Count the reports after the hotspot cursor (up to `limit`). Returns whether more
    work remains (a full batch was applied, or a racing writer moved the cursor)."""
    now = now or utcnow()
    cursor = read_hot_cursor(redis)
    rows = list_reports_after(session, cursor, limit)
    session.rollback()  # end the read transaction: a long-lived step must see new commits
    if not rows:
        return False
    keys_, argv = build_step_args(rows, cursor, now)
    applied = redis.eval(APPLY_REPORTS, len(keys_), *keys_, *argv)
    return applied < 0 or len(rows) == limit


def run_hotspot_steps(session: Session, redis, *, now: datetime | None = None) -> None:
    while hotspot_step(session, redis, now=now):
        pass


# ---------------------------------------------------------------- reconcile

def list_recent_reports(session: Session, since: datetime):
    """Incidents reported since `since`, each row with the newest report event id (one
    statement, so one snapshot: every incident listed has its report event <= that id)."""
    last = (select(func.max(IncidentEvent.id))
            .where(IncidentEvent.action == Action.REPORT.value).scalar_subquery())
    query = (select(Incident.reported_at, Incident.grid_id, Incident.village_id,
                    Incident.town_id, Incident.city_id, last.label("last_seq"))
             .where(Incident.reported_at >= since))
    return session.execute(query.execution_options(yield_per=20000))


def get_last_report_id(session: Session) -> int:
    return session.scalar(select(func.max(IncidentEvent.id))
                          .where(IncidentEvent.action == Action.REPORT.value)) or 0


def count_history(session: Session, now: datetime) -> tuple[dict, dict, dict, int]:
    """Buckets of the last 7 days, hourly counts of the baseline range, the area tree and
    the cursor, from one pass over incidents reported in the last 29 days."""
    hour_now = int(now.timestamp()) // 3600
    base_end = hour_now - BASELINE_LAG
    base_start = base_end - BASELINE_WEEKS * WEEK_HOURS
    oldest = bucket_of(now) - KEEP // BUCKET
    buckets: dict = defaultdict(lambda: defaultdict(int))
    base: dict = defaultdict(lambda: defaultdict(int))
    tree: dict = {}
    since = datetime.fromtimestamp(min(base_start * 3600, oldest * BUCKET), now.tzinfo)
    cursor = None
    for row in list_recent_reports(session, since):
        cursor = row.last_seq
        seconds = int(row.reported_at.timestamp())
        field, hour = seconds // BUCKET, seconds // 3600
        for level, area_id, parent_id in area_entries(row):
            if field >= oldest:
                buckets[area_id][field] += 1
                tree[area_id] = (level, parent_id)
            if base_start <= hour < base_end:
                base[area_id][hour_of_week(hour)] += 1
    session.rollback()
    return buckets, base, tree, cursor if cursor is not None else get_last_report_id(session)


def list_hot_keys(redis) -> list[str]:
    return list(redis.scan_iter(match=keys.HOT_PREFIX.replace("{", "[{]") + "*", count=5000))


def write_reconciled(redis, buckets: dict, base: dict, tree: dict, cursor: int) -> None:
    """Replace every hotspot key in one MULTI/EXEC."""
    old = list_hot_keys(redis)
    pipe = redis.pipeline(transaction=True)
    for start in range(0, len(old), 1000):
        pipe.delete(*old[start:start + 1000])
    for area_id, fields in buckets.items():
        key = keys.HOT_BUCKETS.format(area_id=area_id)
        pipe.hset(key, mapping=fields)
        pipe.expire(key, TTL)
        level, parent_id = tree[area_id]
        pipe.sadd(keys.HOT_LEVEL.format(level=level), area_id)
        pipe.sadd(keys.HOT_CHILDREN.format(parent_id=parent_id), area_id)
    for area_id, slots in base.items():
        means = {slot: count / BASELINE_WEEKS for slot, count in slots.items()}
        pipe.hset(keys.HOT_BASELINE.format(area_id=area_id), mapping=means)
    pipe.set(keys.HOT_CURSOR, cursor)
    pipe.execute()


def reconcile(session: Session, redis, *, now: datetime | None = None) -> dict:
    """Recompute all buckets of the last 7 days and the baselines from SQL, replace them
    atomically and set the cursor to the newest report counted. Returns a summary."""
    now = now or utcnow()
    buckets, base, tree, cursor = count_history(session, now)
    write_reconciled(redis, buckets, base, tree, cursor)
    return {"areas": len(buckets), "baselines": len(base), "cursor": cursor,
            "buckets": sum(len(fields) for fields in buckets.values())}


# ---------------------------------------------------------------- reading

def sum_windows(fields: dict, now: datetime) -> dict[str, int]:
    current = bucket_of(now)
    counts = dict.fromkeys(WINDOWS, 0)
    for field, value in fields.items():
        age = (current - int(field)) * BUCKET
        for name, span in WINDOWS.items():
            if 0 <= age <= span:
                counts[name] += int(value)
    return counts


def expected_last_hour(baseline: dict, now: datetime) -> float:
    """Baseline for the rolling hour ending at `now`: the two clock hours it overlaps,
    weighted by overlap."""
    seconds = int(now.timestamp())
    hour, into = divmod(seconds, 3600)
    this_hour = float(baseline.get(str(hour_of_week(hour)), 0))
    last_hour = float(baseline.get(str(hour_of_week(hour - 1)), 0))
    return (into * this_hour + (3600 - into) * last_hour) / 3600


def list_level_areas(redis, level: str, parent_area_id: int | None) -> list[int]:
    if parent_area_id is None:
        members = redis.smembers(keys.HOT_LEVEL.format(level=level))
    else:
        members = redis.smembers(keys.HOT_CHILDREN.format(parent_id=parent_area_id))
        members &= redis.smembers(keys.HOT_LEVEL.format(level=level))
    return sorted(int(member) for member in members)


def build_hotspot(area_id: int, fields: dict, baseline: dict, now: datetime) -> dict:
    counts = sum_windows(_text_keys(fields), now)
    expected = expected_last_hour(_text_keys(baseline), now)
    score = anomaly_score(counts["count_1h"], expected)
    return {"area_id": area_id, **counts, "expected": round(expected, 4),
            "p": 10 ** -score, "score": round(score, 3)}


def _text_keys(mapping: dict) -> dict:
    return {k.decode() if isinstance(k, bytes) else k: v for k, v in mapping.items()}


def read_hotspots(redis, level: str, parent_area_id: int | None = None, *,
                  now: datetime | None = None) -> list[dict]:
    """Areas of `level` (under `parent_area_id` if given) with reports in the last 7 days:
    {area_id, count_1h, count_24h, count_7d, expected, p, score}, highest score first."""
    now = now or utcnow()
    area_ids = list_level_areas(redis, level, parent_area_id)
    pipe = redis.pipeline(transaction=False)
    for area_id in area_ids:
        pipe.hgetall(keys.HOT_BUCKETS.format(area_id=area_id))
        pipe.hgetall(keys.HOT_BASELINE.format(area_id=area_id))
    replies = pipe.execute()
    spots = [build_hotspot(area_id, replies[2 * i], replies[2 * i + 1], now)
             for i, area_id in enumerate(area_ids)]
    spots = [spot for spot in spots if spot["count_7d"]]
    return sorted(spots, key=lambda spot: (-spot["score"], -spot["count_1h"], spot["area_id"]))


def read_children_windows(redis, level: str, parent_area_id: int,
                          now: datetime | None = None) -> list[dict]:
    """The areas of `level` under `parent_area_id` in the hotspot sets, by id, each with
    {area_id, count_24h, count_1h, score} as `read_hotspots` gives them: what a wall's map
    shows. One Redis script (READ_CHILDREN) lists them and reads only those two windows'
    buckets and two baseline slots. `read_hotspots` took ~90 ms for the city's map; reading
    each window separately took five round trips, each a wait for the GIL on a busy host."""
    now = now or utcnow()
    current = bucket_of(now)
    hour = int(now.timestamp()) // 3600
    slots = (str(hour_of_week(hour)), str(hour_of_week(hour - 1)))
    rows = _READ_CHILDREN(
        keys=[keys.HOT_CHILDREN.format(parent_id=parent_area_id), keys.HOT_LEVEL.format(level=level)],
        args=[current - WINDOWS["count_24h"] // BUCKET, current - WINDOWS["count_1h"] // BUCKET,
              current, *slots, *_split_key(keys.HOT_BUCKETS), *_split_key(keys.HOT_BASELINE)],
        client=redis)
    areas = []
    for area_id, wide, narrow, this_hour, last_hour in rows:
        baseline = {slot: value for slot, value in zip(slots, (this_hour, last_hour)) if value}
        areas.append({"area_id": int(area_id), "count_24h": int(wide), "count_1h": int(narrow),
                      "score": round(anomaly_score(int(narrow), expected_last_hour(baseline, now)), 3)})
    return sorted(areas, key=lambda area: area["area_id"])


def _split_key(template: str) -> tuple[str, str]:
    """An area key's template ("...{area_id}...") as the text before and after the id."""
    before, after = template.format(area_id="\0").split("\0")
    return before, after


# ---------------------------------------------------------------- job entry points

def job_hotspots_step() -> None:
    from workers.connections import get_redis, get_session_factory
    from workers.jobs import run_alone

    def work() -> None:
        with get_session_factory()() as session:
            run_hotspot_steps(session, get_redis())
    run_alone("hotspots-step", work)


def job_hotspots_reconcile() -> dict | None:
    from workers.connections import get_redis, get_session_factory
    from workers.jobs import LONG_LOCK, run_alone

    def work() -> dict:
        with get_session_factory()() as session:
            return reconcile(session, get_redis())
    return run_alone("hotspots-reconcile", work, timeout=LONG_LOCK)
