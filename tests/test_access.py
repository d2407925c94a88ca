"""The ClickHouse access statements (`p06 warehouse grant`), as far as embedded chDB can check them.

chDB 4.4 (ClickHouse 26.9) has access control but no user directory its default user may change:
CREATE USER, CREATE ROLE, CREATE ROW POLICY and CREATE SETTINGS PROFILE are refused (ACCESS_DENIED),
so the grants cannot be exercised here. What is checked: every statement parses with ClickHouse's own
parser (EXPLAIN AST), no statement grants a file, URL or remote source, a temporary table or anything
outside database p06, readers get SELECT only, and each province's row policy names its own province.
"""

from __future__ import annotations

import re
import subprocess

import pytest
from kit.sinkstream import P06

from schemas.registry import registry
from schemas.settings import load_settings
from sinks.warehouse.access import FIGURE_TABLES, plan
from sinks.warehouse.migrations import migrate
from sinks.warehouse.tables import DATABASE, SINK_TABLES

SOURCES = (
    "FILE",
    "URL",
    "S3",
    "HDFS",
    "REMOTE",
    "MYSQL",
    "POSTGRES",
    "ODBC",
    "JDBC",
    "MONGO",
    "REDIS",
    "SQLITE",
    "AZURE",
    "KAFKA",
    "NATS",
    "RABBITMQ",
    "SOURCES",
    "READ",
    "WRITE",
    "TEMPORARY",
    "SYSTEM",
    "ACCESS MANAGEMENT",
)


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch, tmp_path):
    (tmp_path / "p06_province_79").write_text("province-79's password\n")
    monkeypatch.setenv("P06_CLICKHOUSE_SINK_PASSWORD", "sink's 'quoted' \\ password")
    monkeypatch.setenv("P06_CLICKHOUSE_REPORTS_PASSWORD", "reports-password")
    monkeypatch.setenv("P06_CLICKHOUSE_PASSWORDS_DIR", str(tmp_path))
    return plan(load_settings(), ["79"])


def test_every_access_statement_parses_with_clickhouse_s_parser(statements, chdb_client) -> None:
    for s in statements:
        chdb_client.query(f"EXPLAIN AST {s.sql}")  # raises on a syntax error
    assert "reports-password" not in "".join(s.shown for s in statements)


def test_no_role_may_read_files_or_the_network_and_readers_only_select(statements) -> None:
    grants = [s.sql for s in statements if s.sql.startswith("GRANT ") and " ON " in s.sql]
    assert grants
    for g in grants:
        privileges, _, target = g.removeprefix("GRANT ").partition(" ON ")
        assert target.startswith("p06."), g  # nothing on *.* or another database
        for source in SOURCES:
            assert not re.search(rf"\b{source}\b", privileges), g
        if " TO p06_reader" in g or " TO p06_province_" in g:
            assert privileges == "SELECT", g
    writer = next(g for g in grants if g.endswith("TO p06_writer") and "INSERT" in g)
    assert "SELECT" in writer and "DROP DATABASE" not in writer
    users = [s.sql for s in statements if s.sql.startswith("GRANT p06_")]
    assert users == [
        "GRANT p06_writer TO p06_sink",
        "GRANT p06_reader TO p06_reports",
        "GRANT p06_province_79 TO p06_province_79",
    ]


def test_each_province_role_is_held_to_its_own_rows(statements) -> None:
    for code in registry().provinces:
        policies = [s.sql for s in statements if f"ROW POLICY OR REPLACE p06_province_{code} " in s.sql]
        assert len(policies) == len(FIGURE_TABLES)
        assert all(p.endswith(f"USING province = '{code}' TO p06_province_{code}") for p in policies)
    readers = [s.sql for s in statements if "ROW POLICY OR REPLACE p06_all " in s.sql]
    assert all(p.endswith("USING 1 TO p06_writer, p06_reader") for p in readers)


def test_the_grant_knows_every_table_the_migrations_leave(chdb_client) -> None:
    """A migration that adds a table must say who reads it: a figure table (a `province` column, held to
    its province's rows for a province's role) or one of the sink's own (no province role reads it)."""
    migrate(chdb_client)
    tables = chdb_client.query(
        "SELECT name FROM system.tables WHERE database = {db:String}", parameters={"db": DATABASE}
    )
    with_province = chdb_client.query(
        "SELECT DISTINCT table FROM system.columns WHERE database = {db:String} AND name = 'province'",
        parameters={"db": DATABASE},
    )
    assert not set(FIGURE_TABLES) & set(SINK_TABLES)
    assert {t for (t,) in tables.result_rows} == set(FIGURE_TABLES) | set(SINK_TABLES)
    assert {t for (t,) in with_province.result_rows} == set(FIGURE_TABLES)  # what each row policy filters on


def test_grant_refuses_embedded_chdb_and_missing_passwords(p06_settings, monkeypatch: pytest.MonkeyPatch) -> None:
    no_password = subprocess.run([P06, "warehouse", "grant"], capture_output=True, text=True, timeout=60)
    assert no_password.returncode == 2 and "P06_CLICKHOUSE_SINK_PASSWORD" in no_password.stderr
    monkeypatch.setenv("P06_CLICKHOUSE_SINK_PASSWORD", "x" * 12)
    monkeypatch.setenv("P06_CLICKHOUSE_REPORTS_PASSWORD", "y" * 12)
    embedded = subprocess.run([P06, "warehouse", "grant"], capture_output=True, text=True, timeout=60)
    assert embedded.returncode == 2 and "embedded chDB has no users" in embedded.stderr
