"""Resident IDs and certificate numbers at rest (issue 13): no plaintext in a dump of any
service's database after the sample community is loaded, nor in any event of the registry's
topics; a plaintext row left by a database from before sealing is sealed when the registry
starts; rotation re-seals every value under the new key."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

import devstack
import sample_community
from cdsp.events.v1.envelope_pb2 import Envelope
from cdsp.registry.v1 import registry_pb2 as pb
from registry.adapters import person_store
from runtime.audit import AUDIT_TOPIC
from runtime.pii import new_key
from tests.events import TopicReader
from tests.helpers import stub, token

ROOT = Path(__file__).resolve().parents[2]
FIVE = ("registry", "aid", "employment", "volunteer", "notification")


def _everyone(addr: str) -> list[pb.Person]:
    admin = stub(addr, token("city_admin", ["/3505/"]))
    found: list[pb.Person] = []
    page = ""
    while True:
        got = admin.ListPersons(pb.ListPersonsRequest(
            jurisdiction_path=sample_community.COMMUNITY_PATH, page_size=200, page_token=page))
        found += got.persons
        page = got.next_page_token
        if not page:
            return found


def _dump(stack: devstack.Stack, service: str) -> bytes:
    url = stack.database_url(service, superuser=True).rsplit("/", 1)[0] + f"/cdsp_{service}"
    done = subprocess.run([devstack._pg_bin("pg_dump"), "--no-owner", url], check=True,
                          capture_output=True, timeout=120)
    return done.stdout


def test_no_resident_id_in_any_database_dump_or_event(
        stack: devstack.Stack, registry: str, aid: str, employment: str, volunteer: str,
        notification: str) -> None:
    sample_community.build(registry, token("city_admin", ["/3505/"]))
    persons = _everyone(registry)
    assert len(persons) >= 127
    secrets = {p.resident_id for p in persons} | {
        p.certificate_number for p in persons if p.certificate_number}
    assert all(len(s) >= 18 for s in secrets) and len(secrets) > 200  # shown in full to admins
    keys = {p.person_id: p for p in persons}

    # The events reached every topic the registry writes before the dumps are taken.
    def all_persons(envs: list[Envelope]) -> bool:
        return {e.aggregate_id for e in envs} >= set(keys)

    for topic, done in (("cdsp.registry.v1", all_persons),
                        ("cdsp.registry.contacts.v1", all_persons),
                        (AUDIT_TOPIC, bool)):
        reader = TopicReader(stack.kafka_bootstrap, topic)
        try:
            reader.wait_for(done)
            for _, value in reader.records:
                leaked = [s for s in secrets if s.encode() in value]
                assert not leaked, (topic, len(leaked))
        finally:
            reader.close()

    for service in FIVE:
        dump = _dump(stack, service)
        leaked = [s for s in secrets if s.encode() in dump]
        assert not leaked, (service, len(leaked))
        if service == "registry":  # the dump does hold the sample: its names are not sealed
            assert any(p.name.encode() in dump for p in persons)
            assert all(p.person_id.encode() in dump for p in persons)


@pytest.fixture
def pii_cli_env(stack: devstack.Stack) -> dict[str, str]:
    return {**os.environ, **stack.pii_env(), "CDSP_DATABASE_URL": stack.database_url("registry"),
            "PYTHONPATH": f"{ROOT / 'services'}:{ROOT / 'scripts'}"}


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "runtime.pii_cli", *args], env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def test_rotation_re_seals_every_value_and_the_old_key_can_then_go(
        stack: devstack.Stack, registry: str, pii_cli_env: dict[str, str]) -> None:
    sample_community.build(registry, token("city_admin", ["/3505/"]))
    old = pii_cli_env["CDSP_PII_KEYS"]
    before = _cli(pii_cli_env, "status", "registry")
    assert before.returncode == 0, before.stderr
    assert "plaintext" not in before.stdout
    fresh = f"rotated-{os.getpid()}:{new_key()}"
    rotated = {**pii_cli_env, "CDSP_PII_KEYS": f"{fresh},{old}"}
    # The running registry holds only the old key: whatever happens, put every value back
    # under it (the same rotation, the other way round) for the tests after this one.
    back = {**pii_cli_env, "CDSP_PII_KEYS": f"{old},{fresh}"}
    try:
        done = _cli(rotated, "reencrypt", "registry")
        assert done.returncode == 0, done.stderr
        assert int(done.stdout.split("reencrypted\t")[1].split()[0]) >= 127
        after = _cli(rotated, "status", "registry").stdout.splitlines()
        assert after and all(line.split("\t")[1] == f"rotated-{os.getpid()}" for line in after)
    finally:
        restored = _cli(back, "reencrypt", "registry")
    assert restored.returncode == 0, restored.stderr
    assert _cli(pii_cli_env, "status", "registry").stdout.count("rotated") == 0
    broken = _cli({**pii_cli_env, "CDSP_PII_KEYS": "k1:c2hvcnQ="}, "status", "registry")
    assert broken.returncode == 2 and "must be 32 bytes" in broken.stderr
    assert old.split(":", 1)[1] not in broken.stderr + broken.stdout


def test_a_plaintext_row_from_before_sealing_is_sealed_when_the_registry_starts(
        stack: devstack.Stack, registry: str, registry_db: psycopg.Connection) -> None:
    sample_community.build(registry, token("city_admin", ["/3505/"]))
    person = next(p for p in _everyone(registry) if p.certificate_number)
    with registry_db.transaction():  # as a database from before migration 0005 holds it
        registry_db.execute("SELECT set_config('cdsp.scope', '/%', true)")
        registry_db.execute("ALTER TABLE persons DROP CONSTRAINT persons_no_plaintext")
        registry_db.execute(
            "UPDATE persons SET resident_id = %s, resident_id_sealed = NULL, "
            "resident_id_index = NULL, certificate_number = %s, certificate_sealed = NULL "
            "WHERE person_id = %s", [person.resident_id, person.certificate_number or None,
                                     person.person_id])
        registry_db.execute("ALTER TABLE persons ADD CONSTRAINT persons_no_plaintext CHECK "
                            "(resident_id IS NULL AND certificate_number IS NULL) NOT VALID")
    devstack.stop_service(stack, "registry")
    devstack.start_service(stack, "registry", {"CDSP_SHUTDOWN_GRACE_S": "5"})
    with registry_db.transaction():
        registry_db.execute("SELECT set_config('cdsp.scope', '/%', true)")
        row = registry_db.execute(
            "SELECT resident_id, certificate_number, resident_id_index FROM persons "
            "WHERE person_id = %s", [person.person_id]).fetchone()
    assert row is not None and row[:2] == (None, None)
    assert bytes(row[2]) == person_store.resident_id_index(person.resident_id)
    admin = stub(registry, token("city_admin", ["/3505/"]))
    again = admin.GetPerson(pb.GetPersonRequest(person_id=person.person_id))
    assert (again.resident_id, again.certificate_number) == (person.resident_id,
                                                             person.certificate_number)


def test_the_key_command_names_what_is_missing(pii_cli_env: dict[str, str]) -> None:
    no_url = {k: v for k, v in pii_cli_env.items() if k != "CDSP_DATABASE_URL"}
    missing = _cli(no_url, "status", "registry")
    assert missing.returncode == 2 and "CDSP_DATABASE_URL" in missing.stderr
    no_keys = {k: v for k, v in pii_cli_env.items() if k != "CDSP_PII_INDEX_KEY"}
    refused = _cli(no_keys, "reencrypt", "registry")
    assert refused.returncode == 2 and "CDSP_PII_INDEX_KEY is required" in refused.stderr
    unknown = _cli(pii_cli_env, "status", "nosuchservice")
    assert unknown.returncode == 2 and "nosuchservice" in unknown.stderr
    key = _cli(pii_cli_env, "new-key")
    assert key.returncode == 0 and len(base64.b64decode(key.stdout.strip())) == 32
