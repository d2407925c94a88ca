-- The raw archive: every valid event once. ReplacingMergeTree on (province, locality, event_id)
-- collapses resends at merge time; every read uses FINAL, so figures are exact before merges.
-- non_replicated_deduplication_window makes a retried insert with the same
-- insert_deduplication_token a no-op (plain MergeTree would keep both copies).
CREATE TABLE IF NOT EXISTS p06.events_raw
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
    received_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (province, locality, event_id)
SETTINGS non_replicated_deduplication_window = 10000
