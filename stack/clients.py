"""The one place Kafka client options are built from settings, for each client library and role.

Each command connects as its role's principal (the worker as p06-worker, the sink as p06-sink, ...),
with the password file and CA the local broker keeps in its secrets folder, unless P06_KAFKA_USERNAME
names another user. Passwords are read from files or SecretStr and never logged or put in a repr.
"""

from __future__ import annotations

import logging
import ssl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from schemas.settings import Settings

if TYPE_CHECKING:
    from kafka import KafkaAdminClient

log = logging.getLogger("p06.kafka")
Role = Literal["admin", "worker", "sink", "gateway", "admission", "national", "bench"]

# SCRAM user names; the broker's ACLs (stack/acl.py) grant each one what its role does.
ADMIN = "p06-admin"
ROLE_PRINCIPALS: dict[str, str] = {
    "admin": ADMIN,
    "worker": "p06-worker",
    "sink": "p06-sink",
    "gateway": "p06-gateway",
    "admission": "p06-admission",
    "national": "p06-national",
    "bench": ADMIN,  # the benchmark makes and drops its own topics: an operator's tool
}


def province_principal(province: str) -> str:
    """The SCRAM user of one province's senders (PP = the registry's 2-digit code)."""
    return f"p06-province-{province}"


def all_principals() -> list[str]:
    """Every principal `p06 stack up` creates: the roles, then one per province."""
    from schemas.registry import registry

    return [*dict.fromkeys(ROLE_PRINCIPALS.values()), *(province_principal(p) for p in registry().provinces)]


def password_path(secrets_dir: Path, principal: str) -> Path:
    return secrets_dir / "users" / f"{principal}.password"


def ca_path(secrets_dir: Path) -> Path:
    return secrets_dir / "ca.pem"


class KafkaCredentialsError(RuntimeError):
    """No usable credentials for a secured broker; the message says where they were looked for."""


class Credentials:
    """A SCRAM user and its password; the password stays out of repr and str."""

    def __init__(self, username: str, password: str) -> None:
        self.username, self._password = username, password

    def password(self) -> str:
        return self._password

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, password=***)"


def principal_for(settings: Settings, role: str) -> str:
    """P06_KAFKA_USERNAME, else the role's principal; role "province-PP" is that province's sender."""
    if settings.kafka_username:
        return settings.kafka_username
    if role.startswith("province-"):
        return province_principal(role.removeprefix("province-"))
    return ROLE_PRINCIPALS[role]


def credentials(settings: Settings, role: str) -> Credentials:
    """The user this role connects as, and its password: P06_KAFKA_PASSWORD, P06_KAFKA_PASSWORD_FILE,
    or the principal's file in the secrets folder, in that order."""
    username = principal_for(settings, role)
    if settings.kafka_username and settings.kafka_password is not None:
        return Credentials(username, settings.kafka_password.get_secret_value())
    file = (
        settings.kafka_password_file
        if settings.kafka_username and settings.kafka_password_file
        else password_path(settings.kafka_secrets, username)
    )
    try:
        return Credentials(username, file.read_text().strip())
    except OSError as exc:
        raise KafkaCredentialsError(
            f"no password for Kafka user {username} ({file}: {exc.strerror}); start the broker with "
            "`p06 stack up` (it writes one per principal), or set P06_KAFKA_SECRETS_DIR, "
            "or P06_KAFKA_USERNAME with P06_KAFKA_PASSWORD_FILE"
        ) from None


def cafile(settings: Settings) -> Path:
    file = settings.kafka_ssl_cafile or ca_path(settings.kafka_secrets)
    if not file.exists():
        raise KafkaCredentialsError(
            f"no CA certificate at {file}: start the broker with `p06 stack up` (it makes one), "
            "or set P06_KAFKA_SSL_CAFILE or P06_KAFKA_SECRETS_DIR"
        )
    return file


@lru_cache(maxsize=8)
def _ssl_context(file: str, mtime: float) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=file)  # verifies the chain and the host name
    return context


def ssl_context(settings: Settings) -> ssl.SSLContext:
    file = cafile(settings)
    return _ssl_context(str(file), file.stat().st_mtime)


def secured(settings: Settings) -> bool:
    return settings.kafka_security_protocol != "PLAINTEXT"


def _security(settings: Settings, role: str) -> dict[str, Any]:
    """The SASL and TLS options kafka-python and aiokafka share (both take these names)."""
    if not secured(settings):
        return {}
    user = credentials(settings, role)
    return {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": settings.kafka_sasl_mechanism,
        "sasl_plain_username": user.username,
        "sasl_plain_password": user.password(),
        "ssl_context": ssl_context(settings),
    }


def kafka_python_options(settings: Settings, role: str) -> dict[str, Any]:
    """bootstrap_servers and security options for kafka-python's KafkaProducer/Consumer/AdminClient."""
    return {"bootstrap_servers": settings.kafka_bootstrap.split(","), **_security(settings, role)}


def aiokafka_options(settings: Settings, role: str) -> dict[str, Any]:
    """bootstrap_servers and security options for aiokafka's consumers and producers."""
    return {"bootstrap_servers": settings.kafka_bootstrap, **_security(settings, role)}


@contextmanager
def admin_client(
    settings: Settings, role: str = "admin", timeout_ms: int = 15_000, wait_s: float = 0
) -> Iterator[KafkaAdminClient]:
    """The one way an admin client is made: kafka-python's, as this role's principal, closed on exit.

    wait_s: keep trying that long while the cluster does not answer (services wait for Kafka rather
    than crash), then raise KafkaUnreachable saying so."""
    admin = _connected_admin(settings, role, timeout_ms, wait_s)
    try:
        yield admin
    finally:
        admin.close()


class KafkaUnreachable(RuntimeError):
    """The cluster did not answer an admin client within the wait; the message says what to do."""


def _connected_admin(settings: Settings, role: str, timeout_ms: int, wait_s: float) -> KafkaAdminClient:
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    options = kafka_python_options(settings, role)
    deadline = time.monotonic() + wait_s
    delay = 0.5
    while True:
        try:
            return KafkaAdminClient(**options, request_timeout_ms=timeout_ms)
        except KafkaError as exc:
            if time.monotonic() + delay > deadline:
                if not wait_s:
                    raise
                raise KafkaUnreachable(
                    f"Kafka at {settings.kafka_bootstrap} did not answer for {wait_s:.0f}s ({exc}); "
                    "start it with `p06 stack up` or set P06_KAFKA_BOOTSTRAP"
                ) from None
            if delay == 0.5:
                log.warning("waiting for Kafka at %s (%s)", settings.kafka_bootstrap, exc)
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


def faust_options(settings: Settings, role: str) -> dict[str, Any]:
    """broker and broker_credentials for a faust.App (Faust hands them to aiokafka)."""
    import faust

    options: dict[str, Any] = {"broker": [f"kafka://{server}" for server in settings.kafka_bootstrap.split(",")]}
    if not secured(settings):
        return options
    user = credentials(settings, role)
    options["broker_credentials"] = faust.SASLCredentials(
        username=user.username,
        password=user.password(),
        ssl_context=ssl_context(settings),
        mechanism=settings.kafka_sasl_mechanism,
    )
    return options


def describe(settings: Settings, role: str) -> str:
    """What a client of this role connects with, without the password: for logs and `p06 stack`."""
    if not secured(settings):
        return f"{settings.kafka_bootstrap} (PLAINTEXT)"
    user = principal_for(settings, role)
    return f"{settings.kafka_bootstrap} (SASL_SSL {settings.kafka_sasl_mechanism} as {user})"
