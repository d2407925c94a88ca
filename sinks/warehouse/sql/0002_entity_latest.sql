-- Latest state per entity (task, village, system): argMax over (occurred_at, event_id), the same
-- order as schemas.metrics.version. argMax is idempotent, so a duplicate row changes nothing, and
-- argMaxMerge(...) GROUP BY gives the exact state before any background merge.
CREATE TABLE IF NOT EXISTS p06.entity_latest
(
    province LowCardinality(String),
    area LowCardinality(String),
    locality LowCardinality(String),
    entity String,
    state AggregateFunction(argMax, Tuple(String, DateTime64(6, 'UTC'), String, Array(Int64)), Tuple(DateTime64(6, 'UTC'), String)),
    versions AggregateFunction(uniqExact, String)
)
ENGINE = AggregatingMergeTree
ORDER BY (province, area, locality, entity);

CREATE MATERIALIZED VIEW IF NOT EXISTS p06.entity_latest_mv TO p06.entity_latest AS
SELECT
    province,
    area,
    locality,
    entity,
    argMaxState(
        tuple(event_id, occurred_at, payload, [tasks_reported, tasks_completed, villages,
              villages_without_electricity, villages_without_internet, eid_activations,
              dossiers_received, dossiers_online, dossiers_on_time, systems_assessed,
              systems_failed, open_findings]),
        tuple(occurred_at, event_id)) AS state,
    uniqExactState(event_id) AS versions
FROM p06.events_raw
WHERE entity != ''
GROUP BY province, area, locality, entity
