"""Settings shared by every service, read once from environment variables.

Each variable, its default and meaning:

    CDSP_ENV                  development | production (production takes the identity
                              issuer's keys and revocation list from https URLs only, and
                              refuses a development key)
    CDSP_GRPC_ADDR            host:port the gRPC server binds            (per-service default)
    CDSP_METRICS_ADDR         host:port of the Prometheus /metrics page  (per-service default)
    CDSP_GRPC_TLS_CERT/_KEY/_CLIENT_CA/_CA/_SERVER_NAME, CDSP_GRPC_HEALTH_ADDR,
    CDSP_GRPC_REFLECTION      gRPC over TLS, mutual TLS, the plaintext health-only port for
                              probes, reflection (runtime.grpc_tls documents each)
    CDSP_DATABASE_URL         PostgreSQL URL of this service's own database
    CDSP_DB_POOL_MIN / _MAX   connection pool bounds                     (2 / 20)
    CDSP_MIGRATE_ON_START     apply migrations at start-up (true); false: only check the schema
                              is current (a deployment's migration step applied them)
    CDSP_KAFKA_BOOTSTRAP      Kafka bootstrap servers, comma separated   (127.0.0.1:9092)
    CDSP_KAFKA_SECURITY_PROTOCOL, _SASL_MECHANISM, _USERNAME, _PASSWORD, _CA_FILE
                              TLS and SASL to Kafka (kafka_security_options) (PLAINTEXT)
    CDSP_TOPIC_PARTITIONS     partitions for topics this service creates (6)
    CDSP_TOPIC_REPLICATION    replication factor for topics it creates   (1)
    CDSP_TOKEN_*              how caller tokens are verified: the issuer's JWKS and revocation
                              list, issuer, audience, longest lifetime, claim names
                              (runtime/token_settings.py)
    CDSP_SHUTDOWN_GRACE_S     seconds in-flight calls get on SIGTERM     (20)
    CDSP_OUTBOX_POLL_S        outbox relay fallback poll interval        (1.0)
    CDSP_OUTBOX_BATCH         events published per relay round           (500)
    CDSP_LOCAL_TZ             time zone of the people served             (Asia/Shanghai)
    CDSP_CONSUMER_FETCH_WAIT_MS  longest a broker may hold an empty fetch (50)
    CDSP_INBOX_RETENTION_DAYS how long consumed event ids are kept       (35)
    CDSP_AUDIT_RETENTION_DAYS how long audit records are kept, 183+     (190)
    CDSP_PENDING_MAX_WAIT_S   how long an event may wait for what it names (3600)
    CDSP_LOG_LEVEL            INFO
    CDSP_<SERVICE>_ADDR       where to reach another service over gRPC
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class SettingsError(ValueError):
    pass


def env_int(name: str, default: int, minimum: int = 0, maximum: int = 10**12) -> int:
    """An integer setting: unset or empty gives the default; anything but ASCII digits, or a
    value out of bounds, is a SettingsError naming the variable."""
    raw = os.environ.get(name, "")
    if raw == "":
        return default
    raw = raw.strip()
    if not (raw.isascii() and raw.lstrip("-").isdigit()):
        raise SettingsError(f"{name} must be an integer, got {raw!r}")
    value = int(raw)
    if not minimum <= value <= maximum:
        raise SettingsError(f"{name} must be between {minimum} and {maximum}, got {value}")
    return value


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None


def _bool(name: str, default: bool) -> bool:
    return env_flag(os.environ, name, default)


def env_flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    """A true/false setting of `env`; anything else is refused naming the setting."""
    raw = env.get(name, "").strip().lower()
    if raw == "":
        return default
    if raw not in ("true", "false"):
        raise SettingsError(f"{name} must be true or false, got {raw!r}")
    return raw == "true"


@dataclass(frozen=True)
class Settings:
    service: str
    env: str
    grpc_addr: str
    metrics_addr: str
    database_url: str
    db_pool_min: int
    db_pool_max: int
    kafka_bootstrap: str
    topic_partitions: int
    topic_replication: int
    shutdown_grace_s: float
    outbox_poll_s: float
    outbox_batch: int
    local_tz: ZoneInfo
    log_level: str
    migrate_on_start: bool = True
    inbox_retention_days: int = 35
    audit_retention_days: int = 190

    @property
    def topic(self) -> str:
        """The topic this service publishes its events on."""
        return f"cdsp.{self.service}.v1"

    def service_addr(self, service: str) -> str:
        return os.environ.get(f"CDSP_{service.upper()}_ADDR", "")


def load_settings(service: str, grpc_port: int, metrics_port: int) -> Settings:
    env = os.environ.get("CDSP_ENV", "development")
    if env not in ("development", "production"):
        raise SettingsError(f"CDSP_ENV must be development or production, got {env!r}")
    tz_name = os.environ.get("CDSP_LOCAL_TZ", "Asia/Shanghai")
    try:
        local_tz = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"CDSP_LOCAL_TZ must be an IANA time zone, got {tz_name!r}") from None
    url = os.environ.get("CDSP_DATABASE_URL", "")
    if not url:
        raise SettingsError("CDSP_DATABASE_URL is required (this service's own database)")
    settings = Settings(
        service=service,
        env=env,
        grpc_addr=os.environ.get("CDSP_GRPC_ADDR", f"127.0.0.1:{grpc_port}"),
        metrics_addr=os.environ.get("CDSP_METRICS_ADDR", f"127.0.0.1:{metrics_port}"),
        database_url=url,
        db_pool_min=env_int("CDSP_DB_POOL_MIN", 2),
        db_pool_max=env_int("CDSP_DB_POOL_MAX", 20),
        kafka_bootstrap=os.environ.get("CDSP_KAFKA_BOOTSTRAP", "127.0.0.1:9092"),
        topic_partitions=env_int("CDSP_TOPIC_PARTITIONS", 6, 1),
        topic_replication=env_int("CDSP_TOPIC_REPLICATION", 1, 1),
        shutdown_grace_s=_float("CDSP_SHUTDOWN_GRACE_S", 20.0),
        outbox_poll_s=_float("CDSP_OUTBOX_POLL_S", 1.0),
        outbox_batch=env_int("CDSP_OUTBOX_BATCH", 500, 1),
        local_tz=local_tz,
        log_level=os.environ.get("CDSP_LOG_LEVEL", "INFO"),
        migrate_on_start=_bool("CDSP_MIGRATE_ON_START", True),
        inbox_retention_days=env_int("CDSP_INBOX_RETENTION_DAYS", 35, 1, 3650),
        # MLPS 2.0 level 3: audit logs are kept at least 6 months (the table refuses less).
        audit_retention_days=env_int("CDSP_AUDIT_RETENTION_DAYS", 190, 183, 36500),
    )
    if settings.db_pool_min < 1 or settings.db_pool_max < settings.db_pool_min:
        raise SettingsError("CDSP_DB_POOL_MIN must be >= 1 and <= CDSP_DB_POOL_MAX")
    kafka_security_options(os.environ)  # a wrong Kafka security setting stops the start here
    return settings


KAFKA_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
KAFKA_SASL_MECHANISMS = ("SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN")


def kafka_security_options(env: Mapping[str, str]) -> dict[str, Any]:
    """kafka-python connection options from the environment:

    CDSP_KAFKA_SECURITY_PROTOCOL  PLAINTEXT (default) | SSL | SASL_PLAINTEXT | SASL_SSL
    CDSP_KAFKA_SASL_MECHANISM     SCRAM-SHA-512 (default) | SCRAM-SHA-256 | PLAIN
    CDSP_KAFKA_USERNAME / _PASSWORD  SASL credentials (required with SASL_*; from a Secret)
    CDSP_KAFKA_CA_FILE            CA bundle that signed the brokers' certificates (*SSL)
    """
    protocol = env.get("CDSP_KAFKA_SECURITY_PROTOCOL", "PLAINTEXT").strip().upper()
    if protocol not in KAFKA_PROTOCOLS:
        raise SettingsError(f"CDSP_KAFKA_SECURITY_PROTOCOL must be one of "
                            f"{', '.join(KAFKA_PROTOCOLS)}, got {protocol!r}")
    options: dict[str, Any] = {"security_protocol": protocol}
    user, password = env.get("CDSP_KAFKA_USERNAME", ""), env.get("CDSP_KAFKA_PASSWORD", "")
    if protocol.startswith("SASL_"):
        mechanism = env.get("CDSP_KAFKA_SASL_MECHANISM", "SCRAM-SHA-512").strip().upper()
        if mechanism not in KAFKA_SASL_MECHANISMS:
            raise SettingsError(f"CDSP_KAFKA_SASL_MECHANISM must be one of "
                                f"{', '.join(KAFKA_SASL_MECHANISMS)}, got {mechanism!r}")
        if not user or not password:
            raise SettingsError(f"CDSP_KAFKA_USERNAME and CDSP_KAFKA_PASSWORD are required "
                                f"with CDSP_KAFKA_SECURITY_PROTOCOL={protocol}")
        if mechanism == "PLAIN" and protocol == "SASL_PLAINTEXT":
            raise SettingsError("CDSP_KAFKA_SASL_MECHANISM=PLAIN would send the password in "
                                "clear text: use SASL_SSL or a SCRAM mechanism")
        options.update(sasl_mechanism=mechanism, sasl_plain_username=user,
                       sasl_plain_password=password)
    elif user or password:
        raise SettingsError(f"CDSP_KAFKA_USERNAME/_PASSWORD are set but "
                            f"CDSP_KAFKA_SECURITY_PROTOCOL is {protocol}: credentials would be "
                            f"ignored (use SASL_SSL)")
    ca_file = env.get("CDSP_KAFKA_CA_FILE", "")
    if protocol.endswith("SSL"):
        options["ssl_check_hostname"] = True
        if ca_file:
            if not os.path.isfile(ca_file):
                raise SettingsError(f"CDSP_KAFKA_CA_FILE {ca_file!r} is not a readable file")
            options["ssl_cafile"] = ca_file
    elif ca_file:
        raise SettingsError(f"CDSP_KAFKA_CA_FILE is set but CDSP_KAFKA_SECURITY_PROTOCOL is "
                            f"{protocol} (no TLS)")
    return options
