-- Rollups per scope x hour and x day. A row holds the change of each metric in that bucket:
-- flows add their counts, a state event adds (its contribution - its predecessor's). The figure
-- at time T is the sum of the rows up to T. Rows are rewritten by recomputation from the archive
-- (sinks/rollups.py), never incremented, so ReplacingMergeTree(rev) + FINAL is exact before merges
-- and a replayed batch rewrites the same values.
-- scope: ward | province_self (a province's own events) | province | nation | urban | rural
CREATE TABLE IF NOT EXISTS p06.rollup_hour
(
    scope LowCardinality(String),
    code LowCardinality(String),
    province LowCardinality(String),
    area LowCardinality(String),
    hour DateTime('UTC'),
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
ORDER BY (scope, code, hour);

CREATE TABLE IF NOT EXISTS p06.rollup_day
(
    scope LowCardinality(String),
    code LowCardinality(String),
    province LowCardinality(String),
    area LowCardinality(String),
    day Date,
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
ORDER BY (scope, code, day)
