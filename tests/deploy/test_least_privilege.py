"""A service deployed with two database roles, as the Helm chart does when a service's entry
names a migration Secret: the migration step applies the schema as the tables' owner and grants
the serving role row access only; the service (CDSP_MIGRATE_ON_START=false) checks the schema
and serves. Against a real PostgreSQL and a real registry process: the serving role works, row-
level security applies to it, and it cannot switch that security off or change the schema."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from psycopg import errors

import devstack
from runtime import migrate_cli
from tests.events import TopicReader
from tests.helpers import make_tree

OWNER, APP, DB = "cdsp_lp_owner", "cdsp_lp_app", "lp_registry"
PASSWORD = "lp-test-only"


def _url(stack: devstack.Stack, role: str) -> str:
    return f"postgresql://{role}:{PASSWORD}@127.0.0.1:{stack.pg_port}/{DB}"


@pytest.fixture
def two_roles(stack: devstack.Stack) -> Iterator[devstack.Stack]:
    """An empty database owned by OWNER; APP may connect and nothing more (yet). Yields the
    stack a registry process of this test's own runs on (ports of its own)."""
    with psycopg.connect(stack.database_url("", superuser=True), autocommit=True) as conn:
        for role in (OWNER, APP):
            if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone():
                conn.execute(f"CREATE ROLE {role} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE "
                             f"NOCREATEDB PASSWORD '{PASSWORD}'")
        conn.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB} OWNER {OWNER}")
    mine = devstack.Stack(state_dir=stack.state_dir / "least-privilege", pg_port=stack.pg_port,
                          kafka_port=stack.kafka_port, port_offset=stack.port_offset + 12,
                          metrics_offset=(stack.metrics_offset or 0) + 12,
                          identity_dir=stack.identity.folder)
    mine.state_dir.mkdir(parents=True, exist_ok=True)
    yield mine
    if "registry" in mine.procs:
        devstack.stop_service(mine, "registry")
    with psycopg.connect(stack.database_url("", superuser=True), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")


def _start(mine: devstack.Stack, stack: devstack.Stack) -> None:
    devstack.start_service(mine, "registry", {"CDSP_DATABASE_URL": _url(stack, APP),
                                              "CDSP_MIGRATE_ON_START": "false"})


def test_the_serving_role_serves_but_cannot_weaken_the_database(
        stack: devstack.Stack, two_roles: devstack.Stack,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Before the migration step the service refuses to serve an empty schema.
    with pytest.raises(RuntimeError, match="run the migration step"):
        _start(two_roles, stack)
    two_roles.procs.pop("registry", None)

    monkeypatch.setenv("CDSP_DATABASE_URL", _url(stack, OWNER))
    monkeypatch.setenv("CDSP_DB_APP_ROLE", APP)
    assert migrate_cli.main(["registry"]) == migrate_cli.EXIT_OK
    assert migrate_cli.main(["registry"]) == migrate_cli.EXIT_OK  # again: nothing to do

    _start(two_roles, stack)
    tree = make_tree(two_roles.grpc_addr("registry"))
    person = tree.register()
    reader = TopicReader(stack.kafka_bootstrap, "cdsp.registry.v1")
    try:  # the outbox, its NOTIFY and the relay's bookkeeping work as the serving role
        [event] = reader.wait_for(lambda found: len(found) == 1, key=person.person_id)
    finally:
        reader.close()
    assert event.event_type == "cdsp.events.v1.PersonRegistered"

    with psycopg.connect(_url(stack, APP), autocommit=True) as conn:
        # Row-level security applies to a role that does not own the table: no scope, no rows.
        assert conn.execute("SELECT count(*) FROM persons").fetchone() == (0,)
        for statement in ("ALTER TABLE persons DISABLE ROW LEVEL SECURITY",
                          "ALTER TABLE persons NO FORCE ROW LEVEL SECURITY",
                          "DROP TABLE outbox",
                          "CREATE TABLE stolen (x text)",
                          "INSERT INTO schema_migrations (name, checksum) VALUES ('x', 'y')",
                          "DELETE FROM schema_migrations"):
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute(statement)
    log = (two_roles.state_dir / "registry.log").read_text(errors="replace")
    assert "permission denied" not in log and "InsufficientPrivilege" not in log


def test_a_changed_schema_record_stops_the_start(stack: devstack.Stack,
                                                 two_roles: devstack.Stack,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CDSP_DATABASE_URL", _url(stack, OWNER))
    monkeypatch.setenv("CDSP_DB_APP_ROLE", APP)
    assert migrate_cli.main(["registry"]) == migrate_cli.EXIT_OK
    with psycopg.connect(_url(stack, OWNER), autocommit=True) as conn:
        conn.execute("DELETE FROM schema_migrations WHERE name = 'registry/0002_policy_once_"
                     "per_query.sql'")
    with pytest.raises(RuntimeError, match=r"missing: registry/0002_policy_once_per_query\.sql"):
        _start(two_roles, stack)
    two_roles.procs.pop("registry", None)


def test_granting_to_a_role_that_does_not_exist_fails(stack: devstack.Stack,
                                                      two_roles: devstack.Stack,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CDSP_DATABASE_URL", _url(stack, OWNER))
    monkeypatch.setenv("CDSP_DB_APP_ROLE", "cdsp_nobody")
    assert migrate_cli.main(["registry"]) == migrate_cli.EXIT_FAILED
    monkeypatch.setenv("CDSP_DB_APP_ROLE", "app; DROP TABLE persons")
    assert migrate_cli.main(["registry"]) == migrate_cli.EXIT_USAGE
