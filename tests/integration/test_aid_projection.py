"""The aid service's projection of registry events: a duplicate or an older event arriving late
never moves a record backwards."""

from __future__ import annotations

import time
import uuid

import psycopg
from kafka import KafkaProducer

import devstack
from cdsp.common.v1 import common_pb2
from cdsp.events.v1 import registry_pb2 as ev
from cdsp.events.v1.envelope_pb2 import Envelope
from runtime.events import build_envelope

PATH = "/P1/P1-d/P1-s/P1-c/P1-g1/"


def _event(payload: ev.PersonRegistered | ev.PersonUpdated | ev.HouseholdChanged,
           aggregate_id: str, version: int) -> bytes:
    return build_envelope(payload, aggregate_type="person", aggregate_id=aggregate_id,
                          version=version, jurisdiction_path=PATH, producer="registry",
                          actor="test", request_id="test").SerializeToString()


def _snapshot(person_id: str, household_id: str, grade: int) -> ev.PersonSnapshot:
    return ev.PersonSnapshot(person_id=person_id, household_id=household_id,
                             jurisdiction_path=PATH, category=common_pb2.DISABILITY_CATEGORY_VISUAL,
                             grade=grade, household_monthly_income_fen=100_000)


def _row(url: str, sql: str, params: list[object]) -> tuple[object, ...] | None:
    with psycopg.connect(url) as conn, conn.transaction():
        conn.execute("SELECT set_config('cdsp.scope', '/%', true)")
        return conn.execute(sql, params).fetchone()


def test_duplicates_and_out_of_order_events(stack: devstack.Stack, aid: str) -> None:
    person, household = str(uuid.uuid4()), str(uuid.uuid4())
    v1 = _event(ev.PersonRegistered(person=_snapshot(person, household, 1)), person, 1)
    v3 = _event(ev.PersonUpdated(person=_snapshot(person, household, 3),
                                 changed_fields=["grade"]), person, 3)
    v2 = _event(ev.PersonUpdated(person=_snapshot(person, household, 2),
                                 changed_fields=["grade"]), person, 2)
    h2 = _event(ev.HouseholdChanged(household_id=household, jurisdiction_path=PATH,
                                    monthly_income_fen=80_000), household, 2)
    h1 = _event(ev.HouseholdChanged(household_id=household, jurisdiction_path=PATH,
                                    monthly_income_fen=90_000), household, 1)
    producer = KafkaProducer(bootstrap_servers=stack.kafka_bootstrap, acks="all")
    # v3 overtakes v2; v1 arrives twice; the household's newer change overtakes the older one.
    for key, value in ((person, v1), (person, v3), (person, v1), (person, v2),
                       (household, h2), (household, h1), (household, h2)):
        producer.send("cdsp.registry.v1", key=key.encode(), value=value)
    producer.flush()
    producer.close()

    url = stack.database_url("aid")
    ids = [_id(v) for v in (v1, v2, v3, h1, h2)]
    deadline = time.monotonic() + 30
    while True:  # until every distinct event has been processed
        distinct = _row(url, "SELECT count(*) FROM inbox WHERE consumer = "
                             "'aid-registry-projection' AND event_id = ANY(%s::uuid[])", [ids])
        if distinct == (5,) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert distinct == (5,)  # duplicates were recognised: one inbox row per distinct event
    person_row = _row(url, "SELECT grade, version FROM persons WHERE person_id = %s", [person])
    household_row = _row(url, "SELECT monthly_income_fen, version FROM households "
                              "WHERE household_id = %s", [household])
    assert person_row == (3, 3)             # v2 came after v3 and changed nothing
    assert household_row == (80_000, 2)     # h1 came after h2 and changed nothing


def _id(value: bytes) -> str:
    return Envelope.FromString(value).event_id
