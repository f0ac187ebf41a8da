"""Redis key templates and channel names, in one place (one section per part of the system)."""
from __future__ import annotations

# ---------------------------------------------------------------- workers: SLA timers, scheduler
# The one scheduler lock: only the candidate holding it runs RQ's CronScheduler loop.
SCHEDULER_LOCK = "grid:scheduler:leader"
# A job's "still running" lock: a tick that finds it held skips instead of piling up.
JOB_LOCK = "grid:job:{name}:running"
# Amber: one claim per (incident, deadline as Unix seconds), and the sweep's window start.
AMBER_SENT = "grid:amber:sent:{incident_id}:{deadline}"
AMBER_CURSOR = "grid:amber:cursor"
# Amber notices, per area at every level (city, town, village, grid): JSON with "kind": "amber".
CHANNEL_AMBER = "grid:amber:{area_id}"

# ---------------------------------------------------------------- live: live state and change feed
# Every live key carries the hash tag {live}, so one Lua script can touch them all, also on a
# Redis Cluster. Templates double the braces ({{live}}) so that .format() leaves the tag in place.
# `python -m workers rebuild` wipes and rewrites everything under LIVE_PREFIX.
LIVE_PREFIX = "grid:{live}:"
# The id of the last incident_event applied (the change feed's sequence number).
LIVE_CURSOR = "grid:{live}:cursor"
# One hash per open incident (fields: workers.live.HASH_FIELDS; times ISO 8601 UTC).
LIVE_INCIDENT = "grid:{{live}}:incident:{incident_id}"
# The version a closed incident had, for an hour: a relay holding an older row cannot revive it.
LIVE_GONE = "grid:{{live}}:gone:{incident_id}"
# Open incident ids of an area at any level (city, town, village, grid); open count = SCARD.
LIVE_AREA_OPEN = "grid:{{live}}:area:{area_id}:open"
# Sorted sets: incident id -> running deadline (due_at) or amber start (warn_at), Unix seconds.
LIVE_AREA_DUE = "grid:{{live}}:area:{area_id}:due"
LIVE_AREA_WARN = "grid:{{live}}:area:{area_id}:warn"
# Events per action in an area on one Asia/Shanghai day (YYYY-MM-DD); field "_seq" = last event counted.
LIVE_AREA_DAY = "grid:{{live}}:area:{area_id}:day:{day}"
# The newest reports of an area (any level), newest first, capped at FEED_KEEP: JSON
# {"id", "item_id", "town_id", "village_id", "reported_at", "description"} (the walls' feed).
LIVE_AREA_FEED = "grid:{{live}}:area:{area_id}:feed"
# Holes in the event ids the relay is waiting on: first missing id -> JSON {"seen", "writers"}.
LIVE_GAPS = "grid:{live}:gaps"
# Held while a rebuild runs (relays wait; a second rebuild refuses).
LIVE_REBUILD_LOCK = "grid:{live}:rebuild"
# Change notices per area at every level: JSON {"seq", "incident_id", "action", "state", ...}.
CHANNEL_AREA = "grid:live:{area_id}"

# ---------------------------------------------------------------- hotspots: rolling counts, anomaly
# Every hotspot key carries the hash tag {hot}, so one Lua script / MULTI can touch them all.
HOT_PREFIX = "grid:{hot}:"
# The id of the last "report" incident_event counted (the hotspot consumer's own cursor).
HOT_CURSOR = "grid:{hot}:cursor"
# Reports per 5-minute bucket of an area (grid, village or town): field = bucket number
# (Unix seconds // 300), value = count. Expires 8 days after the last report counted.
HOT_BUCKETS = "grid:{{hot}}:area:{area_id}:buckets"
# Baseline per area: field = hour of the week (0..167, UTC hours since the epoch % 168),
# value = mean reports in that hour over the 4 weeks before (written by reconcile).
HOT_BASELINE = "grid:{{hot}}:area:{area_id}:baseline"
# Areas with reports in the last 7 days, per level, and per parent area (children one level down).
HOT_LEVEL = "grid:{{hot}}:level:{level}"
HOT_CHILDREN = "grid:{{hot}}:children:{parent_id}"

# ---------------------------------------------------------------- wall: slow-moving figures
# The wall's figures of one area (city, town or village): a JSON string written every minute
# by workers.wall with a 15-minute TTL (shape: workers.wall.compute_wall_figures).
WALL_FIGURES = "grid:wall:{area_id}"

# ---------------------------------------------------------------- logins (dashboard/auth)
# The short-lived copy of one login (a browser's session) whose truth is the staff_login
# row in SQL: JSON {"staff_id", "role", "name", "area_id", "department_id", "username",
# "fingerprint", "remember"}, with a TTL of logins.COPY_TTL (5 minutes) or less. A request
# that finds it asks SQL nothing; logout deletes it after ending the login in SQL. Ids
# starting "r" are "remember this screen" logins.
LOGIN = "grid:login:{login_id}"
# Flask-Limiter's prefix for the POST /login counters (per address, per username and
# address); the limits library stores them as "LIMITS:LIMITER/grid:ratelimit/<key>/...".
RATELIMIT_PREFIX = "grid:ratelimit"
