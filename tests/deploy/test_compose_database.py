"""docker-compose's database set-up, run for real: deploy/postgres/init-databases.sh on a new,
empty PostgreSQL cluster (as the postgres image runs it on a new volume), then each service's
migration step as compose runs it (the owner's URL, the service's role to grant), then the
service's own role: it reads and writes rows, and nothing more."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import errors

import devstack
from runtime import migrate_cli

SCRIPT = devstack.ROOT / "deploy" / "postgres" / "init-databases.sh"
OWNER_PW, APP_PW = "owner-pw-test", "app-pw-test"


@pytest.fixture(scope="module")
def fresh_cluster(stack: devstack.Stack) -> Iterator[devstack.Stack]:
    """A PostgreSQL cluster of its own, with no CDSP role or database in it."""
    mine = devstack.Stack(state_dir=stack.state_dir / "compose-pg", pg_port=stack.pg_port + 100,
                          kafka_port=stack.kafka_port)
    shutil.rmtree(mine.state_dir, ignore_errors=True)
    devstack.start_postgres(mine, service_databases=False)
    yield mine
    devstack.stop_postgres(mine)
    shutil.rmtree(mine.state_dir, ignore_errors=True)


def _url(cluster: devstack.Stack, role: str, password: str, service: str) -> str:
    return f"postgresql://{role}:{password}@127.0.0.1:{cluster.pg_port}/cdsp_{service}"


def _run_init(cluster: devstack.Stack, **env: str) -> subprocess.CompletedProcess[str]:
    psql_dir = os.path.dirname(devstack._pg_bin("psql"))
    full = {"PATH": f"{psql_dir}:{os.environ['PATH']}", "POSTGRES_USER": "postgres",
            "PGHOST": "127.0.0.1", "PGPORT": str(cluster.pg_port),
            "PGPASSWORD": devstack.SUPERUSER_PASSWORD, **env}
    return subprocess.run(["bash", str(SCRIPT)], env=full, capture_output=True, text=True,
                          timeout=120, check=False)


def test_the_init_script_refuses_to_run_without_both_passwords(
        fresh_cluster: devstack.Stack) -> None:
    done = _run_init(fresh_cluster, CDSP_DB_PASSWORD=APP_PW)
    assert done.returncode != 0 and "CDSP_DB_OWNER_PASSWORD" in done.stderr
    with psycopg.connect(fresh_cluster.database_url("", superuser=True)) as conn:
        assert conn.execute("SELECT count(*) FROM pg_roles WHERE rolname LIKE 'cdsp_%'"
                            ).fetchone() == (0,)


def test_roles_databases_migrations_and_what_each_role_may_do(
        fresh_cluster: devstack.Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    done = _run_init(fresh_cluster, CDSP_DB_PASSWORD=APP_PW, CDSP_DB_OWNER_PASSWORD=OWNER_PW)
    assert done.returncode == 0, done.stderr
    with psycopg.connect(fresh_cluster.database_url("", superuser=True)) as conn:
        roles = dict(conn.execute("SELECT rolname, rolsuper OR rolbypassrls OR rolcreaterole "
                                  "FROM pg_roles WHERE rolname LIKE 'cdsp_%'").fetchall())
        owners = dict(conn.execute("SELECT datname, pg_get_userbyid(datdba) FROM pg_database "
                                   "WHERE datname LIKE 'cdsp_%'").fetchall())
    assert roles == {r: False for s in devstack.SERVICES for r in (f"cdsp_{s}", f"cdsp_{s}_app")}
    assert owners == {f"cdsp_{s}": f"cdsp_{s}" for s in devstack.SERVICES}

    for service in devstack.SERVICES:  # what each <service>-migrate container runs
        monkeypatch.setenv("CDSP_DATABASE_URL",
                           _url(fresh_cluster, f"cdsp_{service}", OWNER_PW, service))
        monkeypatch.setenv("CDSP_DB_APP_ROLE", f"cdsp_{service}_app")
        assert migrate_cli.main([service]) == migrate_cli.EXIT_OK, service

    app = _url(fresh_cluster, "cdsp_aid_app", APP_PW, "aid")
    with psycopg.connect(app, autocommit=True) as conn:
        conn.execute("INSERT INTO outbox (event_id, topic, record_key, event_type, envelope) "
                     "VALUES (gen_random_uuid(), 't', 'k', 'e', '\\x00')")
        assert conn.execute("SELECT count(*) FROM outbox").fetchone() == (1,)
        for statement in ("ALTER TABLE aid_cases NO FORCE ROW LEVEL SECURITY",
                          "CREATE TABLE stolen (x text)", "DROP TABLE outbox"):
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute(statement)
    # A service's role reaches only its own database.
    with pytest.raises(psycopg.OperationalError, match="permission denied"):
        psycopg.connect(_url(fresh_cluster, "cdsp_aid_app", APP_PW, "registry")).close()
