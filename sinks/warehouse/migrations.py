"""Versioned DDL, applied at start: each sinks/warehouse/sql/NNNN_name.sql once, recorded in p06.schema_migrations.

Every statement is idempotent (IF NOT EXISTS), so a run interrupted between a statement and its
record simply runs again. A changed file that was already applied is refused: add a new version.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources

from clickhouse_connect.driver.client import Client

from sinks.warehouse.tables import DATABASE, LEDGER


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()[:16]

    def statements(self) -> list[str]:
        return [s.strip() for s in self.sql.split(";\n") if _code(s)]


class MigrationError(RuntimeError):
    pass


def _code(statement: str) -> bool:
    return any(line.strip() and not line.strip().startswith("--") for line in statement.splitlines())


def available() -> list[Migration]:
    found = []
    for entry in resources.files("sinks.warehouse.sql").iterdir():
        if entry.name.endswith(".sql"):
            number, _, rest = entry.name.partition("_")
            found.append(Migration(int(number), rest.removesuffix(".sql"), entry.read_text()))
    return sorted(found, key=lambda m: m.version)


def applied(client: Client) -> dict[int, str]:
    rows = client.query(f"SELECT version, checksum FROM {LEDGER} FINAL").result_rows
    return {int(v): c for v, c in rows}


def migrate(client: Client, until: int | None = None) -> list[Migration]:
    """Apply what is missing, in version order, up to version `until` (all by default); return what was applied now."""
    client.command(f"CREATE DATABASE IF NOT EXISTS {DATABASE}")
    client.command(
        f"CREATE TABLE IF NOT EXISTS {LEDGER} (version UInt32, name String, checksum String,"
        " applied_at DateTime('UTC') DEFAULT now()) ENGINE = ReplacingMergeTree ORDER BY version"
    )
    done = applied(client)
    new = []
    for migration in available():
        if until is not None and migration.version > until:
            break
        if migration.version in done:
            if done[migration.version] != migration.checksum:
                raise MigrationError(
                    f"migration {migration.version:04d}_{migration.name} changed after it was applied; "
                    "add a new migration instead of editing it"
                )
            continue
        for statement in migration.statements():
            client.command(statement)
        client.insert(
            LEDGER,
            [[migration.version, migration.name, migration.checksum]],
            column_names=["version", "name", "checksum"],
        )
        new.append(migration)
    return new
