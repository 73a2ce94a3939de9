"""Settings read from the environment."""

from __future__ import annotations

import os
from zoneinfo import ZoneInfo

import pytest

from runtime.settings import SettingsError, load_settings

URL = "postgresql://cdsp@localhost/registry"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.startswith("CDSP_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("CDSP_DATABASE_URL", URL)
    return monkeypatch


def load() -> object:
    return load_settings("registry", 50051, 9101)


def test_defaults() -> None:
    s = load_settings("registry", 50051, 9101)
    assert s.service == "registry"
    assert s.env == "development"
    assert s.grpc_addr == "127.0.0.1:50051"
    assert s.metrics_addr == "127.0.0.1:9101"
    assert s.database_url == URL
    assert (s.db_pool_min, s.db_pool_max) == (2, 20)
    assert s.kafka_bootstrap == "127.0.0.1:9092"
    assert (s.topic_partitions, s.topic_replication) == (6, 1)
    assert s.shutdown_grace_s == 20.0
    assert s.outbox_poll_s == 1.0
    assert s.outbox_batch == 500
    assert s.local_tz == ZoneInfo("Asia/Shanghai")
    assert s.log_level == "INFO"
    assert s.topic == "cdsp.registry.v1"


def test_values_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CDSP_GRPC_ADDR", "0.0.0.0:6000")
    monkeypatch.setenv("CDSP_DB_POOL_MIN", "4")
    monkeypatch.setenv("CDSP_DB_POOL_MAX", "8")
    monkeypatch.setenv("CDSP_OUTBOX_POLL_S", "0.25")
    monkeypatch.setenv("CDSP_LOCAL_TZ", "UTC")
    monkeypatch.setenv("CDSP_AID_ADDR", "aid:50052")
    monkeypatch.setenv("CDSP_TOPIC_PARTITIONS", "")     # empty means the default
    s = load_settings("registry", 50051, 9101)
    assert s.grpc_addr == "0.0.0.0:6000"
    assert (s.db_pool_min, s.db_pool_max) == (4, 8)
    assert s.outbox_poll_s == 0.25
    assert s.local_tz == ZoneInfo("UTC")
    assert s.topic_partitions == 6
    assert s.service_addr("aid") == "aid:50052"
    assert s.service_addr("volunteer") == ""


@pytest.mark.parametrize("name", ["CDSP_DATABASE_URL"])
def test_required_variables(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.delenv(name)
    with pytest.raises(SettingsError, match=name):
        load()
    monkeypatch.setenv(name, "")
    with pytest.raises(SettingsError, match=name):
        load()


def test_production_is_a_known_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CDSP_ENV", "production")
    assert load_settings("registry", 1, 2).env == "production"
    monkeypatch.setenv("CDSP_ENV", "staging")
    with pytest.raises(SettingsError, match="CDSP_ENV"):
        load()


@pytest.mark.parametrize("name", ["CDSP_DB_POOL_MIN", "CDSP_DB_POOL_MAX", "CDSP_TOPIC_PARTITIONS",
                                  "CDSP_TOPIC_REPLICATION", "CDSP_OUTBOX_BATCH"])
@pytest.mark.parametrize("raw", ["ten", "1.5", "3 pools"])
def test_bad_integers_name_the_variable(monkeypatch: pytest.MonkeyPatch, name: str,
                                        raw: str) -> None:
    monkeypatch.setenv(name, raw)
    with pytest.raises(SettingsError, match=name):
        load()


@pytest.mark.parametrize("name", ["CDSP_SHUTDOWN_GRACE_S", "CDSP_OUTBOX_POLL_S"])
def test_bad_numbers_name_the_variable(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setenv(name, "soon")
    with pytest.raises(SettingsError, match=name):
        load()


@pytest.mark.parametrize(("low", "high"), [("0", "20"), ("5", "4")])
def test_pool_bounds(monkeypatch: pytest.MonkeyPatch, low: str, high: str) -> None:
    monkeypatch.setenv("CDSP_DB_POOL_MIN", low)
    monkeypatch.setenv("CDSP_DB_POOL_MAX", high)
    with pytest.raises(SettingsError, match="CDSP_DB_POOL_MIN"):
        load()


def test_migrate_on_start(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings("registry", 50051, 9101).migrate_on_start is True
    monkeypatch.setenv("CDSP_MIGRATE_ON_START", "false")
    assert load_settings("registry", 50051, 9101).migrate_on_start is False
    monkeypatch.setenv("CDSP_MIGRATE_ON_START", "no")
    with pytest.raises(SettingsError, match="CDSP_MIGRATE_ON_START must be true or false"):
        load_settings("registry", 50051, 9101)
