-- Issue 11: one rule for an event_id sent again with different content, the live worker's rule.
-- An event is its locality, its event_id and the UTC day of its occurred_at; copies count once, and
-- when they differ the FIRST copy in the locality's home partition of the events topic counts.
-- The sink archives only records at home (others come back there, re-sent by the worker), so every
-- copy of an event in this table has the same topic and partition, and the lowest offset is the first.
--
-- p06.archive replaces p06.events_raw (keyed on event_id alone, last insert kept):
-- ORDER BY includes the UTC day, and ReplacingMergeTree(precedence) keeps the row with the greatest
-- precedence = bitNot(offset) = 18446744073709551615 - offset, i.e. the lowest offset, before merges
-- (FINAL) and after them, whatever order the copies were inserted in. Every read uses FINAL.
-- non_replicated_deduplication_window as in 0001: a retried insert with the same
-- insert_deduplication_token is a no-op.
-- Every statement is idempotent, so a run interrupted before its ledger record simply runs again.

-- The latest state per entity is now read from p06.archive FINAL with argMax (sinks/reconcile.py).
DROP VIEW IF EXISTS p06.entity_latest_mv;

DROP TABLE IF EXISTS p06.entity_latest;

CREATE TABLE IF NOT EXISTS p06.archive
(
    event_id String,
    type LowCardinality(String),
    locality LowCardinality(String),
    province LowCardinality(String),
    level LowCardinality(String),
    area LowCardinality(String),
    entity String,
    occurred_at DateTime64(6, 'UTC'),
    payload String,
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
    topic LowCardinality(String),
    partition UInt32,
    offset UInt64,
    received_at DateTime64(3, 'UTC'),
    precedence UInt64 MATERIALIZED bitNot(offset)
)
ENGINE = ReplacingMergeTree(precedence)
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (province, locality, toDate(occurred_at), event_id)
SETTINGS non_replicated_deduplication_window = 10000;

-- What the old archive counted, one row per (province, locality, event_id) as its FINAL read it:
-- the warehouse's figures do not move across this migration. Copying again (an interrupted run)
-- inserts the same rows with the same precedence, which FINAL and merges collapse.
-- p06.events_raw itself is left in place, no longer written; drop it in a later migration.
INSERT INTO p06.archive
    (event_id, type, locality, province, level, area, entity, occurred_at, payload,
     tasks_reported, tasks_completed, villages, villages_without_electricity, villages_without_internet,
     eid_activations, dossiers_received, dossiers_online, dossiers_on_time, systems_assessed,
     systems_failed, open_findings, topic, partition, offset, received_at)
SELECT
    event_id, type, locality, province, level, area, entity, occurred_at, payload,
    tasks_reported, tasks_completed, villages, villages_without_electricity, villages_without_internet,
    eid_activations, dossiers_received, dossiers_online, dossiers_on_time, systems_assessed,
    systems_failed, open_findings, topic, partition, offset, received_at
FROM p06.events_raw FINAL
