-- Issue 24: a day of rollup_day is a day of the country's calendar (P06_TIMEZONE), no longer a UTC day.
--
-- p06.calendar records the zone the day rollups were built for. A migration file is the same for
-- every deployment, while the zone is a setting, so this file only makes the record: a warehouse
-- without a row was built by the code before (0003-0007: toDate(hour), UTC days). On every start
-- the sink (and a report that opens chDB itself) compares the record with P06_TIMEZONE and, when they
-- differ, rebuilds rollup_day from rollup_hour in the new zone (sinks/warehouse/days.py, a Python step
-- with the zone as a query parameter), then records the zone. rollup_hour is per UTC hour and its
-- offsets are whole hours, so a local day is the exact sum of its 24 (23, 25 with DST) hours: nothing is
-- lost or counted twice, and the archive, counted and rollup_hour are untouched.

CREATE TABLE IF NOT EXISTS p06.calendar
(
    zone String,
    rev UInt64,
    built_at DateTime('UTC') DEFAULT now()
)
ENGINE = ReplacingMergeTree(rev)
ORDER BY tuple()
