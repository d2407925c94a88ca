-- Issue 12: rollups whose cost follows the batch, not the archive (sinks/rollups.py).
--
-- p06.counted: one row per event that counts (the archive's FINAL), with the change it makes to its
-- locality's figures: c_* its contribution, d_* its delta (a flow: its contribution; a state event:
-- its contribution minus its entity's previous version's, in (occurred_at, event_id) order).
-- A late event rewrites its successor's row (same key, larger rev). ORDER BY starts with the UTC day:
-- a batch of recent events reads recent days only, however long the archive is.
-- p06.heads: each state entity's newest version and its contribution, so a batch finds an event's
-- predecessor without reading the entity's history.
-- rollup_hour and rollup_day are re-created ordered by time first, for the same reason, and filled
-- again from p06.counted. Scopes are unchanged: ward | province_self | province | nation | urban | rural.
--
-- Every statement is idempotent: a run interrupted before its ledger record drops what it built and
-- fills it again from the archive.

DROP TABLE IF EXISTS p06.counted;

CREATE TABLE p06.counted
(
    day Date,
    locality LowCardinality(String),
    event_id String,
    province LowCardinality(String),
    level LowCardinality(String),
    area LowCardinality(String),
    entity String,
    occurred_at DateTime64(6, 'UTC'),
    hour DateTime('UTC'),
    partition UInt32,
    offset UInt64,
    c_tasks_reported Int64, c_tasks_completed Int64, c_villages Int64, c_villages_without_electricity Int64,
    c_villages_without_internet Int64, c_eid_activations Int64, c_dossiers_received Int64, c_dossiers_online Int64,
    c_dossiers_on_time Int64, c_systems_assessed Int64, c_systems_failed Int64, c_open_findings Int64,
    d_tasks_reported Int64, d_tasks_completed Int64, d_villages Int64, d_villages_without_electricity Int64,
    d_villages_without_internet Int64, d_eid_activations Int64, d_dossiers_received Int64, d_dossiers_online Int64,
    d_dossiers_on_time Int64, d_systems_assessed Int64, d_systems_failed Int64, d_open_findings Int64,
    rev UInt64
)
ENGINE = ReplacingMergeTree(rev)
ORDER BY (day, locality, event_id);

INSERT INTO p06.counted
SELECT toDate(occurred_at), locality, event_id, province, level, area, entity, occurred_at, toStartOfHour(occurred_at),
    partition, offset,
    tasks_reported, tasks_completed, villages, villages_without_electricity,
    villages_without_internet, eid_activations, dossiers_received, dossiers_online,
    dossiers_on_time, systems_assessed, systems_failed, open_findings,
    if(entity = '', tasks_reported, tasks_reported - lagInFrame(tasks_reported, 1, toInt64(0)) OVER w),
    if(entity = '', tasks_completed, tasks_completed - lagInFrame(tasks_completed, 1, toInt64(0)) OVER w),
    if(entity = '', villages, villages - lagInFrame(villages, 1, toInt64(0)) OVER w),
    if(entity = '', villages_without_electricity, villages_without_electricity - lagInFrame(villages_without_electricity, 1, toInt64(0)) OVER w),
    if(entity = '', villages_without_internet, villages_without_internet - lagInFrame(villages_without_internet, 1, toInt64(0)) OVER w),
    if(entity = '', eid_activations, eid_activations - lagInFrame(eid_activations, 1, toInt64(0)) OVER w),
    if(entity = '', dossiers_received, dossiers_received - lagInFrame(dossiers_received, 1, toInt64(0)) OVER w),
    if(entity = '', dossiers_online, dossiers_online - lagInFrame(dossiers_online, 1, toInt64(0)) OVER w),
    if(entity = '', dossiers_on_time, dossiers_on_time - lagInFrame(dossiers_on_time, 1, toInt64(0)) OVER w),
    if(entity = '', systems_assessed, systems_assessed - lagInFrame(systems_assessed, 1, toInt64(0)) OVER w),
    if(entity = '', systems_failed, systems_failed - lagInFrame(systems_failed, 1, toInt64(0)) OVER w),
    if(entity = '', open_findings, open_findings - lagInFrame(open_findings, 1, toInt64(0)) OVER w),
    1
FROM p06.archive FINAL
WINDOW w AS (PARTITION BY locality, entity ORDER BY occurred_at, event_id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW);

DROP TABLE IF EXISTS p06.heads;

CREATE TABLE p06.heads
(
    locality LowCardinality(String),
    entity String,
    occurred_at DateTime64(6, 'UTC'),
    event_id String,
    c_tasks_reported Int64, c_tasks_completed Int64, c_villages Int64, c_villages_without_electricity Int64,
    c_villages_without_internet Int64, c_eid_activations Int64, c_dossiers_received Int64, c_dossiers_online Int64,
    c_dossiers_on_time Int64, c_systems_assessed Int64, c_systems_failed Int64, c_open_findings Int64,
    rev UInt64
)
ENGINE = ReplacingMergeTree(rev)
ORDER BY (locality, entity);

INSERT INTO p06.heads
SELECT locality, entity, max(occurred_at), argMax(event_id, v),
    argMax(c_tasks_reported, v), argMax(c_tasks_completed, v), argMax(c_villages, v), argMax(c_villages_without_electricity, v),
    argMax(c_villages_without_internet, v), argMax(c_eid_activations, v), argMax(c_dossiers_received, v), argMax(c_dossiers_online, v),
    argMax(c_dossiers_on_time, v), argMax(c_systems_assessed, v), argMax(c_systems_failed, v), argMax(c_open_findings, v), 1
FROM (SELECT *, (occurred_at, event_id) AS v FROM p06.counted FINAL WHERE entity != '') GROUP BY locality, entity;

-- Scratch tables of the batch being applied (sinks/rollups.py): its keys and the buckets it rewrites.
-- Reads select by subqueries on them, cheaper than thousands of keys bound as query parameters.
-- One sink writes a warehouse; the tables hold one batch at a time and nothing after a restart.
CREATE TABLE IF NOT EXISTS p06.batch
(
    day Date,
    locality String,
    event_id String,
    entity String,
    occurred_at DateTime64(6, 'UTC')
)
ENGINE = Memory;

CREATE TABLE IF NOT EXISTS p06.batch_buckets
(
    locality String,
    hour DateTime('UTC')
)
ENGINE = Memory;

DROP TABLE IF EXISTS p06.rollup_hour;

CREATE TABLE p06.rollup_hour
(
    hour DateTime('UTC'),
    scope LowCardinality(String),
    code LowCardinality(String),
    province LowCardinality(String),
    area LowCardinality(String),
    tasks_reported Int64,
    tasks_completed Int64,
    villages Int64,
    villages_without_electricity Int64,
    villages_without_internet Int64,
    eid_activations Int64,
    dossiers_received Int64,
    dossiers_online Int64,
    dossiers_on_time Int64,
    systems_assessed Int64,
    systems_failed Int64,
    open_findings Int64,
    rev UInt64
)
ENGINE = ReplacingMergeTree(rev)
ORDER BY (hour, scope, code);

INSERT INTO p06.rollup_hour
SELECT hour, if(level = 'ward', 'ward', 'province_self'), locality, any(province), any(area),
    sum(d_tasks_reported), sum(d_tasks_completed), sum(d_villages), sum(d_villages_without_electricity),
    sum(d_villages_without_internet), sum(d_eid_activations), sum(d_dossiers_received), sum(d_dossiers_online),
    sum(d_dossiers_on_time), sum(d_systems_assessed), sum(d_systems_failed), sum(d_open_findings), 1
FROM p06.counted FINAL GROUP BY hour, level, locality;

INSERT INTO p06.rollup_hour
SELECT hour, 'province', province, province, '',
    sum(tasks_reported), sum(tasks_completed), sum(villages), sum(villages_without_electricity),
    sum(villages_without_internet), sum(eid_activations), sum(dossiers_received), sum(dossiers_online),
    sum(dossiers_on_time), sum(systems_assessed), sum(systems_failed), sum(open_findings), 1
FROM p06.rollup_hour FINAL WHERE scope IN ('ward', 'province_self') GROUP BY hour, province
UNION ALL
SELECT hour, 'nation', 'VN', '', '',
    sum(tasks_reported), sum(tasks_completed), sum(villages), sum(villages_without_electricity),
    sum(villages_without_internet), sum(eid_activations), sum(dossiers_received), sum(dossiers_online),
    sum(dossiers_on_time), sum(systems_assessed), sum(systems_failed), sum(open_findings), 1
FROM p06.rollup_hour FINAL WHERE scope IN ('ward', 'province_self') GROUP BY hour
UNION ALL
SELECT hour, area, area, '', area,
    sum(tasks_reported), sum(tasks_completed), sum(villages), sum(villages_without_electricity),
    sum(villages_without_internet), sum(eid_activations), sum(dossiers_received), sum(dossiers_online),
    sum(dossiers_on_time), sum(systems_assessed), sum(systems_failed), sum(open_findings), 1
FROM p06.rollup_hour FINAL WHERE scope = 'ward' GROUP BY hour, area;

DROP TABLE IF EXISTS p06.rollup_day;

CREATE TABLE p06.rollup_day
(
    day Date,
    scope LowCardinality(String),
    code LowCardinality(String),
    province LowCardinality(String),
    area LowCardinality(String),
    tasks_reported Int64,
    tasks_completed Int64,
    villages Int64,
    villages_without_electricity Int64,
    villages_without_internet Int64,
    eid_activations Int64,
    dossiers_received Int64,
    dossiers_online Int64,
    dossiers_on_time Int64,
    systems_assessed Int64,
    systems_failed Int64,
    open_findings Int64,
    rev UInt64
)
ENGINE = ReplacingMergeTree(rev)
ORDER BY (day, scope, code);

INSERT INTO p06.rollup_day
SELECT toDate(hour), scope, code, any(province), any(area),
    sum(tasks_reported), sum(tasks_completed), sum(villages), sum(villages_without_electricity),
    sum(villages_without_internet), sum(eid_activations), sum(dossiers_received), sum(dossiers_online),
    sum(dossiers_on_time), sum(systems_assessed), sum(systems_failed), sum(open_findings), 1
FROM p06.rollup_hour FINAL GROUP BY toDate(hour), scope, code
