-- Issue 24: corrections, as events. An event may name the original it corrects (supersedes_id, the
-- original's exact instant supersedes_at) and be void (counts nothing). The archive keeps every event
-- with what it names; rows archived before this migration corrected nothing: their defaults say so.
--
-- p06.counted gets each flow row's report ('<type>|<original event_id>|<original's µs since epoch>'):
-- the original and the corrections naming it, of which the latest counts (its d_* = c_*, the others'
-- zero), all placed in the original's hour. Rows counted before were all originals: their report is
-- computed from the archive's type. Every statement is idempotent: a run interrupted anywhere gives
-- the same tables when run again (the re-insert selects only rows still without a report).
ALTER TABLE p06.archive ADD COLUMN IF NOT EXISTS supersedes_id String DEFAULT '';

ALTER TABLE p06.archive ADD COLUMN IF NOT EXISTS supersedes_at DateTime64(6, 'UTC') DEFAULT toDateTime64(0, 6, 'UTC');

ALTER TABLE p06.archive ADD COLUMN IF NOT EXISTS void UInt8 DEFAULT 0;

-- Who sent each event, for `p06 history`: the topic its sender wrote (a province's ingestion topic, as
-- admission's p06-source-topic header says; else the events topic, where national senders write).
-- Rows archived before: '' (not known).
ALTER TABLE p06.archive ADD COLUMN IF NOT EXISTS sent_via String DEFAULT '';

ALTER TABLE p06.counted ADD COLUMN IF NOT EXISTS report String DEFAULT '';

-- The batch's reports, which it reads by a subquery as it reads its keys.
ALTER TABLE p06.batch ADD COLUMN IF NOT EXISTS report String DEFAULT '';

INSERT INTO p06.counted
SELECT c.* REPLACE (
    concat(a.type, '|', c.event_id, '|', toString(toUnixTimestamp64Micro(c.occurred_at))) AS report,
    c.rev + 1 AS rev
)
FROM (SELECT * FROM p06.counted FINAL WHERE entity = '' AND report = '') AS c
INNER JOIN (
    SELECT toDate(occurred_at) AS day, locality, event_id, type FROM p06.archive FINAL WHERE entity = ''
) AS a ON c.day = a.day AND c.locality = a.locality AND c.event_id = a.event_id
