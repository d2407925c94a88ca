-- Issue 24, part 3: reporting periods and their approval.
--
-- appended_at: the broker's timestamp of the record the event came in: for a province's sender, the append
-- time on its ingestion topic (LogAppendTime, stack/topics.py), which admission carries onto the events
-- topic. Timeliness is judged by it, never by the sender's occurred_at. Rows archived before this migration
-- take received_at, when the sink read them: never earlier than the broker's append, so an old row may be
-- judged late that was not, but never on time when it was late.
ALTER TABLE p06.archive ADD COLUMN IF NOT EXISTS appended_at DateTime64(3, 'UTC') DEFAULT received_at;

-- Every action on a period, applied or refused, in the order of the periods topic: the audit. An applied
-- approve records the figures approved (JSON: the province and each ward, the twelve metrics) and the
-- archive positions they cover (ends[p + 1] = first offset of partition p of the events topic NOT covered).
-- One row per action_id: the writer reading an action again after a restart finds it here and skips it.
CREATE TABLE IF NOT EXISTS p06.period_actions
(
    action_id String,
    period LowCardinality(String),
    province LowCardinality(String),
    action LowCardinality(String),
    expected LowCardinality(String),
    by String,
    role LowCardinality(String),
    at DateTime64(3, 'UTC'),
    outcome LowCardinality(String),
    reason String,
    status_after LowCardinality(String),
    ends Array(Int64),
    figures String,
    topic_partition UInt32,
    topic_offset UInt64,
    applied_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
ORDER BY action_id
