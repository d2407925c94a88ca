"""The warehouse's tables by name: the one place in Python where a table of database p06 is spelled.

The migrations (sql/NNNN_*.sql) create them; docs/clickhouse.md says what each holds and why its engine.
Every table a migration leaves is either a figure table or one of the sink's own (tests/test_access.py
checks that against a migrated warehouse), so `p06 warehouse grant` knows each one.
"""

from __future__ import annotations

DATABASE = "p06"
ARCHIVE = f"{DATABASE}.archive"  # every valid event once: its first copy (0004)
EVENTS_RAW = f"{DATABASE}.events_raw"  # the archive before 0004: no longer written, kept in place
COUNTED = f"{DATABASE}.counted"  # one row per event that counts, with its contribution and delta
IDENTITIES = f"{DATABASE}.identities"  # the hour of each counted event, by identity (point reads)
HEADS = f"{DATABASE}.heads"  # each state entity's newest version and its contribution
BATCH = f"{DATABASE}.batch"  # scratch: the keys of the batch being applied
BATCH_BUCKETS = f"{DATABASE}.batch_buckets"  # scratch: the (locality, hour) buckets it rewrites
ROLLUP_HOUR = f"{DATABASE}.rollup_hour"
ROLLUP_DAY = f"{DATABASE}.rollup_day"
CALENDAR = f"{DATABASE}.calendar"  # the zone rollup_day's days are in (0008)
PERIOD_ACTIONS = f"{DATABASE}.period_actions"  # every approval action, applied or refused: the audit (0009)
LEDGER = f"{DATABASE}.schema_migrations"  # which migrations ran, with their checksums


def _bare(*tables: str) -> tuple[str, ...]:
    return tuple(t.removeprefix(f"{DATABASE}.") for t in tables)


# The tables that hold figures, each with a `province` column: a province's role reads its own rows of
# these through a row policy on that column, and nothing else (sinks/warehouse/access.py).
FIGURE_TABLES = _bare(ARCHIVE, EVENTS_RAW, COUNTED, ROLLUP_HOUR, ROLLUP_DAY, PERIOD_ACTIONS)
# The sink's own bookkeeping, keyed by locality or identity with no `province`: the sink and the national
# readers read them whole (SELECT ON p06.*), a province's role not at all.
SINK_TABLES = _bare(IDENTITIES, HEADS, BATCH, BATCH_BUCKETS, CALENDAR, LEDGER)
