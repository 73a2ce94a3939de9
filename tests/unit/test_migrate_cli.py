"""runtime.migrate_cli: the migration step of a deployment (no database: apply_migrations is
replaced, the real one is exercised by every service start in the integration tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from runtime import migrate_cli
from runtime.migrations import RUNTIME_MIGRATIONS, MigrationError

SERVICES = Path(__file__).resolve().parents[2] / "services"


def _fake(calls: list[tuple[str, list[tuple[str, Path]]]], result: Any = None) -> Any:
    async def apply(url: str, sources: list[tuple[str, Path]]) -> list[str]:
        calls.append((url, sources))
        if isinstance(result, Exception):
            raise result
        return ["registry/001.sql"]
    return apply


@pytest.mark.parametrize("service", ["registry", "aid", "employment", "volunteer",
                                     "notification"])
def test_applies_runtime_then_service_migrations(monkeypatch: pytest.MonkeyPatch,
                                                 service: str) -> None:
    calls: list[tuple[str, list[tuple[str, Path]]]] = []
    monkeypatch.setenv("CDSP_DATABASE_URL", "postgresql://u@db/x")
    monkeypatch.setattr(migrate_cli, "apply_migrations", _fake(calls))
    assert migrate_cli.main([service]) == 0
    assert calls == [("postgresql://u@db/x", [("runtime", RUNTIME_MIGRATIONS),
                                              (service, SERVICES / service / "migrations")])]


def test_failure_exits_non_zero_without_logging_the_url(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    calls: list[tuple[str, list[tuple[str, Path]]]] = []
    monkeypatch.setenv("CDSP_DATABASE_URL", "postgresql://u:s3cret-pw@db/x")
    monkeypatch.setattr(migrate_cli, "apply_migrations",
                        _fake(calls, MigrationError("migration registry/001.sql changed")))
    assert migrate_cli.main(["registry"]) == 1
    err = capsys.readouterr().err
    assert "changed" in err and "s3cret-pw" not in err


def test_missing_url_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, list[tuple[str, Path]]]] = []
    monkeypatch.delenv("CDSP_DATABASE_URL", raising=False)
    monkeypatch.setattr(migrate_cli, "apply_migrations", _fake(calls))
    assert migrate_cli.main(["registry"]) == 2
    assert calls == []


@pytest.mark.parametrize("service", ["nosuchservice", "runtime", "../registry", "json"])
def test_unknown_service_is_a_usage_error(monkeypatch: pytest.MonkeyPatch, service: str) -> None:
    calls: list[tuple[str, list[tuple[str, Path]]]] = []
    monkeypatch.setenv("CDSP_DATABASE_URL", "postgresql://u@db/x")
    monkeypatch.setattr(migrate_cli, "apply_migrations", _fake(calls))
    assert migrate_cli.main([service]) == 2
    assert calls == []
