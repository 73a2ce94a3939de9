"""runtime.migrate_cli, the deployment's migration step (the Helm chart's pre-install and
pre-upgrade Job), against a real PostgreSQL: each service's database is brought up to date from
empty, a second run changes nothing, and every failure exits non-zero without the database URL
(it holds the password) in what it prints."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

import devstack
from runtime import migrate_cli

ROOT = Path(__file__).resolve().parents[2]


def _applied(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        exists = conn.execute("SELECT to_regclass('schema_migrations')").fetchone()
        if exists is None or exists[0] is None:
            return []
        return [r[0] for r in conn.execute("SELECT name FROM schema_migrations ORDER BY name")]


@pytest.mark.parametrize("service", devstack.SERVICES)
def test_a_service_database_is_brought_up_to_date_once(
        stack: devstack.Stack, service: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    url = devstack.scratch_database(stack, f"migrate_{service}")
    monkeypatch.setenv("CDSP_DATABASE_URL", url)
    assert migrate_cli.main([service]) == migrate_cli.EXIT_OK
    expected = sorted([f"runtime/{p.name}" for p in (ROOT / "services/runtime/migrations")
                       .glob("*.sql")] + [f"{service}/{p.name}" for p in
                                          (ROOT / "services" / service / "migrations")
                       .glob("*.sql")])
    assert _applied(url) == expected
    capsys.readouterr()
    assert migrate_cli.main([service]) == migrate_cli.EXIT_OK
    assert "(0 applied now)" in capsys.readouterr().err
    assert _applied(url) == expected


def test_a_changed_migration_fails_the_step(stack: devstack.Stack,
                                            monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    url = devstack.scratch_database(stack, "migrate_changed")
    monkeypatch.setenv("CDSP_DATABASE_URL", url)
    assert migrate_cli.main(["registry"]) == migrate_cli.EXIT_OK
    with psycopg.connect(url, autocommit=True) as conn:
        edited = conn.execute("UPDATE schema_migrations SET checksum = 'edited' "
                              "WHERE name = 'registry/0001_init.sql'")
        assert edited.rowcount == 1
    capsys.readouterr()
    assert migrate_cli.main(["registry"]) == migrate_cli.EXIT_FAILED
    err = capsys.readouterr().err
    assert "changed after it was applied" in err
    assert url not in err and devstack.SERVICE_PASSWORD not in err


def test_an_unreachable_database_fails_without_printing_the_password(
        stack: devstack.Stack, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    wrong = stack.database_url("registry").replace(devstack.SERVICE_PASSWORD,
                                                   "Wrong-Pa55word")
    monkeypatch.setenv("CDSP_DATABASE_URL", wrong)
    assert migrate_cli.main(["registry"]) == migrate_cli.EXIT_FAILED
    err = capsys.readouterr().err
    assert "migrations of registry failed" in err and "Wrong-Pa55word" not in err


@pytest.mark.parametrize("service", ["nosuchservice", "runtime", "../registry", "json"])
def test_bad_usage_changes_nothing(stack: devstack.Stack, service: str,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    url = devstack.scratch_database(stack, "migrate_usage")
    monkeypatch.setenv("CDSP_DATABASE_URL", url)
    assert migrate_cli.main([service]) == migrate_cli.EXIT_USAGE
    monkeypatch.delenv("CDSP_DATABASE_URL")
    assert migrate_cli.main(["registry"]) == migrate_cli.EXIT_USAGE
    assert _applied(url) == []


def test_the_job_s_command_runs_from_the_image_layout(stack: devstack.Stack,
                                                      tmp_path: Path) -> None:
    """`python -m runtime.migrate_cli aid`, as the chart's Job runs it, with only the image's
    /app on the import path (tests/deploy/test_images.py assembles it)."""
    from tests.deploy.test_images import assemble_app

    app = assemble_app(tmp_path, "aid")
    url = devstack.scratch_database(stack, "migrate_image")
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(app), "PYTHONDONTWRITEBYTECODE": "1",
           "CDSP_DATABASE_URL": url}
    done = subprocess.run([sys.executable, "-P", "-m", "runtime.migrate_cli", "aid"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert any(name.startswith("aid/") for name in _applied(url))
    assert url not in done.stdout + done.stderr
