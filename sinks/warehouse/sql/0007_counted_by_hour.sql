-- Issue 12: a batch reads the hours it touches, not whole days.
--
-- p06.counted was ordered by (day, locality, event_id): a batch spread over the country's localities
-- then read every row of its day, three times (copies already counted, chains, locality hours), so at
-- 5,000 events/s its cost grew through the day. Ordered by (hour, locality, event_id), its reads
-- select the batch's hours only.
-- p06.identities finds where an event already counted lies: the hour of its first copy, by its
-- identity (UTC day, locality, event_id), in a key-value table (EmbeddedRocksDB: point reads, as a
-- Kafka Streams state store). A later copy may carry another time of the same day, so the hour alone
-- cannot find it. A sink writes an identity before its counted row: an identity whose row is missing
-- (a write cut short) is simply written again.
--
-- Every statement is idempotent: a run interrupted anywhere gives the same tables when run again.

DROP TABLE IF EXISTS p06.counted_by_hour;

CREATE TABLE p06.counted_by_hour AS p06.counted
ENGINE = ReplacingMergeTree(rev)
ORDER BY (hour, locality, event_id);

INSERT INTO p06.counted_by_hour SELECT * FROM p06.counted FINAL;

EXCHANGE TABLES p06.counted AND p06.counted_by_hour;

DROP TABLE p06.counted_by_hour;

DROP TABLE IF EXISTS p06.identities;

CREATE TABLE p06.identities
(
    key String,  -- 'YYYY-MM-DD|locality|event_id': the UTC day of occurred_at, as p06.counted's day
    hour DateTime('UTC')
)
ENGINE = EmbeddedRocksDB
PRIMARY KEY key;

INSERT INTO p06.identities SELECT concat(toString(day), '|', locality, '|', event_id), hour FROM p06.counted FINAL
