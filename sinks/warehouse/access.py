"""`p06 warehouse grant`: the project's ClickHouse users, roles, settings profiles and row policies on a
server (sinks/warehouse/sql/access/*.sql), applied by an administrator's DSN.

p06_sink inserts and migrates, p06_reports reads, p06_province_PP reads its province's rows only; none
of them may use a table function that reads files or reaches the network.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

from schemas.registry import registry
from schemas.settings import Settings
from sinks.warehouse.tables import FIGURE_TABLES

USERS = {"p06_sink": "p06_writer", "p06_reports": "p06_reader"}  # user -> its role (and settings profile)


class AccessError(ValueError):
    """A missing password or a wrong argument; the message names the variable or file to set."""


@dataclass(frozen=True)
class Statement:
    sql: str
    shown: str  # the same with passwords masked, for printing


def template(name: str) -> list[str]:
    """The statements of one access file, comments dropped, split at each ';' that ends a line."""
    text = resources.files("sinks.warehouse.sql.access").joinpath(name).read_text()
    lines = [line for line in text.splitlines() if not line.strip().startswith("--")]
    return [s.strip() for s in re.split(r";\s*$", "\n".join(lines), flags=re.M) if s.strip()]


def quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _sub(statement: str, values: dict[str, Any]) -> str:
    for key, value in values.items():
        statement = statement.replace("{" + key + "}", str(value))
    return statement


def password(settings: Settings, user: str) -> str:
    """The password of a project user: its P06_CLICKHOUSE_*_PASSWORD, else a file named after it in
    P06_CLICKHOUSE_PASSWORDS_DIR."""
    direct = {"p06_sink": settings.clickhouse_sink_password, "p06_reports": settings.clickhouse_reports_password}.get(
        user
    )
    if direct is not None:
        return direct.get_secret_value()
    if settings.clickhouse_passwords_dir is not None:
        path = settings.clickhouse_passwords_dir / user
        if path.exists():
            return path.read_text().strip()
    variable = {"p06_sink": "P06_CLICKHOUSE_SINK_PASSWORD", "p06_reports": "P06_CLICKHOUSE_REPORTS_PASSWORD"}.get(user)
    hint = f"{variable} or " if variable else ""
    raise AccessError(
        f"no password for ClickHouse user {user}: set {hint}a file {user} in P06_CLICKHOUSE_PASSWORDS_DIR"
    )


def plan(settings: Settings, provinces: list[str]) -> list[Statement]:
    """Every statement, in order: profiles and roles, row policies, province roles, users."""
    reg = registry()
    wrong = [p for p in provinces if p not in reg.provinces]
    if wrong:
        raise AccessError(f"not province codes: {', '.join(wrong)} (two digits, e.g. 01)")
    plain = [*template("01_profiles_roles.sql")]
    for table in FIGURE_TABLES:
        plain += _sub_all(template("02_row_policies.sql"), table=table)
    for code in reg.provinces:  # every province's role, whether or not it has a user yet
        for table in FIGURE_TABLES:
            plain += _sub_all(template("03_province.sql"), province=code, table=table)
    out = [Statement(s, s) for s in dict.fromkeys(plain)]  # the province role's CREATE repeats per table
    users = {**USERS, **{f"p06_province_{p}": f"p06_province_{p}" for p in provinces}}
    for user, role in users.items():
        secret = password(settings, user)
        profile = "p06_writer" if role == "p06_writer" else "p06_reader"
        for s in template("04_users.sql"):
            filled = _sub(s, {"user": user, "role": role, "profile": profile})
            out.append(Statement(_sub(filled, {"password": quote(secret)}), _sub(filled, {"password": "'***'"})))
    return out


def _sub_all(statements: list[str], **values: Any) -> list[str]:
    return [_sub(s, values) for s in statements]


def apply(client: Any, statements: list[Statement]) -> None:
    for statement in statements:
        client.command(statement.sql)
