-- Issue 14: an event names the map its locality code is from (2025, the current one, or 2024, before the
-- reform of 1 July 2025). A 2024 code is counted under the 2025 unit it passed into whole: `locality` (and
-- province, level, area, the keys and the rollups) keep the counted 2025 code, and the archive keeps the
-- code as sent beside it. Rows archived before this migration were all sent on the 2025 map: their
-- defaults (map '2025', sent_locality = locality) say exactly that. Idempotent (IF NOT EXISTS).
ALTER TABLE p06.archive ADD COLUMN IF NOT EXISTS map LowCardinality(String) DEFAULT '2025';

ALTER TABLE p06.archive ADD COLUMN IF NOT EXISTS sent_locality LowCardinality(String) DEFAULT locality
