"""Every setting of every p06 command, read in one place: P06_* environment variables and flags."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class SettingsError(SystemExit):
    """A wrong P06_* value: the message names the variable and what it must be."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="P06_", extra="ignore")

    data_dir: Path = Field(Path(".p06"), description="Folder for the local broker, spool, chDB and state")
    kafka_bootstrap: str = Field("127.0.0.1:9092", description="host:port[,host:port...] of the Kafka cluster")
    kafka_security_protocol: Literal["SASL_SSL", "PLAINTEXT"] = Field(
        "SASL_SSL", description="SASL_SSL (TLS + SCRAM, what `p06 stack up` runs) or PLAINTEXT (an unsecured broker)"
    )
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"] = Field(
        "SCRAM-SHA-512",
        description="SCRAM-SHA-512 (every client); PLAIN only for compose's kafka-init on the internal listener",
    )
    kafka_username: str = Field(
        "",
        description=(
            "SCRAM user every command connects as; empty: each command its own role's principal "
            "(p06-worker, p06-sink, ...)"
        ),
    )
    kafka_password: SecretStr | None = Field(
        None, description="password of KAFKA_USERNAME (prefer KAFKA_PASSWORD_FILE)"
    )
    kafka_password_file: Path | None = Field(None, description="file holding the password of KAFKA_USERNAME")
    kafka_ssl_cafile: Path | None = Field(
        None, description="PEM file of the CA that signed the broker's certificate; default SECRETS_DIR/ca.pem"
    )
    kafka_secrets_dir: Path | None = Field(
        None,
        description="folder of the local broker's CA and per-principal password files; default DATA_DIR/kafka/secrets",
    )
    clickhouse_url: str = Field("", description="chdb:///folder (embedded) or http(s)://host:port (server)")
    events_topic: str = "p06.events"
    dlq_topic: str = "p06.events.dlq"
    topic_partitions: int = Field(8, ge=1, le=1024)
    batch_size: int = Field(500, ge=1, le=500, description="events packed in one Kafka message")
    app_id: str = "p06-live"
    worker_web_host: str = Field("127.0.0.1", description="address the live API listens on (0.0.0.0 in a container)")
    worker_web_port: int = Field(6066, ge=1, le=65535)
    worker_batch_size: int = Field(1000, ge=1, description="messages a worker folds per table write")
    worker_batch_within_s: float = Field(0.1, gt=0, description="longest wait to fill a batch")
    worker_commit_interval_s: float = Field(
        1.0,
        gt=0,
        description=(
            "how often a worker commits its consumed offsets (where a restart starts reading; the position "
            "kept with the state decides)"
        ),
    )
    worker_session_timeout_s: float = Field(
        30.0, ge=6, description="a worker silent this long is dropped from the group and its partitions move on"
    )
    worker_recovery_stall_s: float = Field(
        30.0, gt=0, description="a table recovery that reads nothing this long restarts the worker"
    )
    worker_cache_localities: int = Field(
        4000, ge=1, description="localities a worker keeps in memory; others are read from its table when they report"
    )
    live_window_days: int = Field(
        35,
        ge=1,
        le=3660,
        description="days of hourly flow counts the live view carries, back from each locality's newest event",
    )
    correction_window_days: int = Field(
        100,
        ge=1,
        le=3660,
        description="how far back (days before its own occurred_at) a correction may name the event it corrects",
    )
    sink_api_port: int = Field(6070, ge=1, le=65535)
    sink_api_host: str = Field(
        "127.0.0.1", description="address the sink's API listens on (0.0.0.0 in a container, for Prometheus)"
    )
    sink_batch_rows: int = Field(
        50_000, ge=1, le=1_000_000, description="events the sink writes per ClickHouse insert at most"
    )
    sink_flush_s: float = Field(1.0, gt=0, le=600, description="longest the sink holds events before writing them")
    worker_url: str = Field(
        "", description="a live worker's base URL for reconciliation; default http://127.0.0.1:WORKER_WEB_PORT"
    )
    reconcile_recent_s: float = Field(60.0, gt=0, description="the sink compares the recent day buckets this often")
    reconcile_recent_days: int = Field(
        2, ge=1, le=3660, description="days (the country's, today included) the recent check covers"
    )
    reconcile_full_s: float = Field(86_400.0, gt=0, description="the sink compares every figure this often")
    gateway_host: str = Field("127.0.0.1", description="address the HTTP gateway listens on")
    gateway_port: int = Field(8080, ge=1, le=65535)
    publish_province: str = Field(
        "",
        description=(
            "the province (2-digit code) this sender publishes for, into that province's ingestion topic; "
            "empty: a national sender, into the events topic"
        ),
    )
    admission_metrics_host: str = Field("127.0.0.1", description="address the admission stage's /metrics listens on")
    admission_metrics_port: int = Field(6072, ge=1, le=65535, description="port of the admission stage's /metrics")
    admission_batch: int = Field(
        500,
        ge=1,
        le=10_000,
        description="ingestion-topic messages the admission stage moves per write to the events topic",
    )
    admission_stall_s: float = Field(
        60.0,
        gt=0,
        description="records waiting on the ingestion topics and none moved this long: the admission stage "
        "builds its Kafka clients again (a client stuck after its group coordinator's broker stopped)",
    )
    publish_timeout_s: float = Field(
        30.0, gt=0, le=600, description="how long a publish waits for the broker before spooling"
    )
    alert_rules: Path | None = Field(
        None, description="the business alerts' rules file (TOML); empty: the shipped schemas/alerts.toml"
    )
    alert_webhook_secret: SecretStr | None = Field(
        None, description="the HMAC-SHA256 secret signing each webhook notice (X-P06-Signature)"
    )
    alert_webhook_allow: str = Field(
        "", description="comma-separated URL prefixes a webhook receiver must start with; others are refused"
    )
    alert_tick_s: float = Field(
        30.0, gt=0, le=3600, description="how often each province's alert owner looks again (silence grows unheard)"
    )
    silent_after_hours: float = Field(24.0, gt=0, description="a locality silent this long is listed as silent")
    timezone: str = Field(
        "Asia/Ho_Chi_Minh",
        description=(
            "the country's time zone (IANA name): what a day, a month, --as-of and --from/--to are; its UTC offset"
            " must be whole hours"
        ),
    )
    period_deadline_days: int = Field(
        5,
        ge=0,
        le=366,
        description="a reporting period's deadline: this many days after its month ends (the country's time)",
    )
    lang: str = Field(
        "vi", description="language of the dashboard and the md/html reports: vi (Vietnamese) or en (English)"
    )
    operator_user: str = Field(
        "",
        description=(
            "account the p06 commands (live, report, reconcile, the sink's audit, bench) log in with; "
            "empty: `admin` if `p06 up` made DATA_DIR/admin-password"
        ),
    )
    operator_password: SecretStr | None = Field(
        None, description="password of OPERATOR_USER (prefer OPERATOR_PASSWORD_FILE)"
    )
    operator_password_file: Path | None = Field(None, description="file holding the password of OPERATOR_USER")
    monitor_user: str = Field(
        "",
        description=(
            "monitor-role account that reads /metrics; empty: `monitor` if `p06 up` made DATA_DIR/monitor-password"
        ),
    )
    monitor_password: SecretStr | None = Field(
        None, description="password of MONITOR_USER (prefer MONITOR_PASSWORD_FILE)"
    )
    monitor_password_file: Path | None = Field(None, description="file holding the password of MONITOR_USER")
    session_hours: float = Field(12.0, gt=0, le=24 * 30, description="a login session expires this long after it began")
    accounts_dir: Path | None = Field(
        None,
        description=(
            "folder of the operators' accounts (users.json) and the session key; default DATA_DIR (compose: "
            "a volume the worker and sink share)"
        ),
    )
    public_url: str = Field(
        "",
        description=(
            "the address operators open (https://... behind a reverse proxy): session and CSRF cookies are Secure "
            "when it is https; empty: plain http on loopback"
        ),
    )
    trusted_proxies: str = Field(
        "",
        description=(
            "comma-separated addresses or networks of reverse proxies whose X-Forwarded-For names the client; "
            "empty: the connection's address, never a header"
        ),
    )
    login_failures: int = Field(
        10, ge=1, description="failed passwords per account and client address before logins are throttled"
    )
    login_failures_per_address: int = Field(
        30, ge=1, description="failed passwords from one client address (any accounts) before it is throttled"
    )
    login_wait_s: float = Field(30.0, gt=0, description="first wait of a throttled login; doubles with each failure")
    login_wait_max_s: float = Field(900.0, gt=0, description="longest wait of a throttled login")
    clickhouse_sink_password: SecretStr | None = Field(
        None,
        description=(
            "`p06 warehouse grant`: password of the ClickHouse user p06_sink (or a file p06_sink in "
            "CLICKHOUSE_PASSWORDS_DIR)"
        ),
    )
    clickhouse_reports_password: SecretStr | None = Field(
        None,
        description=(
            "`p06 warehouse grant`: password of the ClickHouse user p06_reports (or a file p06_reports in "
            "CLICKHOUSE_PASSWORDS_DIR)"
        ),
    )
    clickhouse_passwords_dir: Path | None = Field(
        None,
        description=(
            "`p06 warehouse grant`: folder of password files named after the ClickHouse users (p06_sink, "
            "p06_reports, p06_province_PP)"
        ),
    )

    @field_validator("kafka_bootstrap")
    @classmethod
    def _host_ports(cls, value: str) -> str:
        for server in value.split(","):
            host, sep, port = server.strip().rpartition(":")
            if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ValueError(f"expected host:port, got {server!r}")
        return value

    @field_validator("publish_province")
    @classmethod
    def _province(cls, value: str) -> str:
        from .registry import registry

        if value and value not in registry().wards_by_province:
            raise ValueError(f"expected a province code such as 01 or 79 (the registry's), got {value!r}")
        return value

    @field_validator("clickhouse_url")
    @classmethod
    def _dsn(cls, value: str) -> str:
        if value and not value.startswith(("chdb://", "http://", "https://")):
            raise ValueError(f"expected chdb://FOLDER or http(s)://HOST:PORT, got {value!r}")
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        from .calendar import check_zone

        return check_zone(value)

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError(f"expected http(s)://HOST[:PORT][/PATH], got {value!r}")
        return value.rstrip("/")

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: str) -> str:
        import ipaddress

        for item in filter(None, (part.strip() for part in value.split(","))):
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"expected addresses or networks such as 10.0.0.5,10.1.0.0/16, got {item!r}") from None
        return value

    @field_validator("lang")
    @classmethod
    def _lang(cls, value: str) -> str:
        from .i18n import check

        return check(value)

    @property
    def clickhouse_dsn(self) -> str:
        return self.clickhouse_url or f"chdb://{(self.data_dir / 'chdb').resolve()}"

    @property
    def accounts_folder(self) -> Path:
        return self.accounts_dir or self.data_dir

    @property
    def live_url(self) -> str:
        return self.worker_url.rstrip("/") or f"http://127.0.0.1:{self.worker_web_port}"

    @property
    def kafka_secrets(self) -> Path:
        return (self.kafka_secrets_dir or self.data_dir / "kafka" / "secrets").resolve()

    @property
    def kafka_port(self) -> int:
        return int(self.kafka_bootstrap.split(",")[0].rpartition(":")[2])


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment, with flag values on top; a wrong value exits naming the variable."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        lines = [f"P06_{'_'.join(str(p) for p in err['loc']).upper()}: {err['msg']}" for err in exc.errors()]
        raise SettingsError("invalid configuration:\n  " + "\n  ".join(lines)) from None


@lru_cache(maxsize=1)
def settings() -> Settings:
    return load_settings()
