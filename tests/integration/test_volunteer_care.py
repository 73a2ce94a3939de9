"""Volunteer: persons projected from the registry with a care schedule, risk colours set by a
worker or raised by an aid warning (a red warning turns into a daily schedule), volunteers
registered with their bounds, and the refusals."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import grpc

import devstack
from cdsp.events.v1 import aid_pb2 as aev
from cdsp.events.v1 import volunteer_pb2 as ev
from cdsp.volunteer.v1 import volunteer_pb2 as pb
from runtime.events import unpack_payload
from tests.events import TopicReader
from tests.helpers import Tree, rpc_error, token, violations
from tests.notification_helpers import AidEvents, wait_until
from tests.volunteer_helpers import (
    new_volunteer,
    register_alone,
    volunteer_admin,
    volunteer_stub,
    wait_persons,
)

INVALID = grpc.StatusCode.INVALID_ARGUMENT


def _due_in(schedule: pb.CareSchedule) -> timedelta:
    return schedule.next_due_at.ToDatetime(tzinfo=UTC) - datetime.now(UTC)


def test_a_red_warning_from_aid_turns_into_a_daily_schedule(
        tree: Tree, volunteer: str, aid_events: AidEvents, stack: devstack.Stack) -> None:
    alone = register_alone(tree)
    family = tree.register(tree.household())  # lives with family, grade 3: not cared for yet
    severe = tree.register(tree.household(), grade=2)  # with family, severely disabled
    wait_persons(stack.database_url("volunteer"),
                 [alone.person_id, family.person_id, severe.person_id])
    api = volunteer_admin(tree, volunteer)
    green = api.GetCareSchedule(pb.GetCareScheduleRequest(person_id=alone.person_id))
    # Plan 000: a person living alone is called or visited every day, whatever the colour.
    assert green.colour == ev.RISK_COLOUR_GREEN and green.living_alone
    assert timedelta(hours=23) < _due_in(green) <= timedelta(hours=24)
    assert green.required_visits_per_week == 7
    # Severely disabled, living with family: green, at the colour's own (monthly) pace.
    monthly = api.GetCareSchedule(pb.GetCareScheduleRequest(person_id=severe.person_id))
    assert monthly.colour == ev.RISK_COLOUR_GREEN and not monthly.living_alone
    assert timedelta(days=29) < _due_in(monthly) <= timedelta(days=30)
    assert monthly.required_visits_per_week == 0
    assert api.GetCareSchedule(pb.GetCareScheduleRequest(person_id=family.person_id)
                               ).colour == ev.RISK_COLOUR_UNSPECIFIED

    aid_events.publish(aev.WarningRaised(household_id=alone.household_id,
                                         case_id=str(uuid.uuid4()),
                                         level=aev.WARNING_LEVEL_RED, reason="medical spending",
                                         person_ids=[alone.person_id, family.person_id]),
                       tree.grid_paths[0], str(uuid.uuid4()))
    red = wait_until(lambda: (s := api.GetCareSchedule(pb.GetCareScheduleRequest(
        person_id=alone.person_id))).colour == ev.RISK_COLOUR_RED and s, "raised to red")
    assert red.required_visits_per_week == 7 and "aid warning" in red.colour_reason
    assert timedelta(hours=23) < _due_in(red) <= timedelta(hours=24)
    other = api.GetCareSchedule(pb.GetCareScheduleRequest(person_id=family.person_id))
    assert other.colour == ev.RISK_COLOUR_RED   # the warning concerns the whole household

    # An orange warning afterwards never lowers it.
    aid_events.publish(aev.WarningRaised(household_id=alone.household_id,
                                         case_id=str(uuid.uuid4()),
                                         level=aev.WARNING_LEVEL_ORANGE, reason="accident",
                                         person_ids=[alone.person_id]),
                       tree.grid_paths[0], str(uuid.uuid4()))
    reader = TopicReader(stack.kafka_bootstrap, "cdsp.volunteer.v1")
    try:
        found = reader.wait_for(lambda envs: bool(envs), key=alone.person_id)
    finally:
        reader.close()
    changes = [unpack_payload(e) for e in found]
    assert [(c.previous, c.colour, c.automatic) for c in changes] == [  # type: ignore[attr-defined]
        (ev.RISK_COLOUR_GREEN, ev.RISK_COLOUR_RED, True)]
    assert api.GetCareSchedule(pb.GetCareScheduleRequest(person_id=alone.person_id)
                               ).colour == ev.RISK_COLOUR_RED


def test_a_worker_sets_a_colour_with_a_reason(tree: Tree, volunteer: str,
                                              stack: devstack.Stack) -> None:
    alone = register_alone(tree)
    wait_persons(stack.database_url("volunteer"), [alone.person_id])
    worker = volunteer_stub(volunteer, token("grid_worker", [tree.grid_paths[0]]))
    yellow = worker.SetRiskColour(pb.SetRiskColourRequest(
        person_id=alone.person_id, colour=ev.RISK_COLOUR_YELLOW, reason="最近摔倒过一次"))
    # The colour says the risk; living alone, the person is still called every day.
    assert yellow.colour == ev.RISK_COLOUR_YELLOW and yellow.required_visits_per_week == 7
    assert _due_in(yellow) <= timedelta(hours=24)
    exc = rpc_error(worker.SetRiskColour, pb.SetRiskColourRequest(
        person_id=alone.person_id, colour=9, reason=""))
    assert exc.code() == INVALID and set(violations(exc)) == {"colour", "reason"}
    other = register_alone(tree, grid=1)
    wait_persons(stack.database_url("volunteer"), [other.person_id])
    assert rpc_error(worker.SetRiskColour, pb.SetRiskColourRequest(
        person_id=other.person_id, colour=ev.RISK_COLOUR_RED, reason="x")
    ).code() == grpc.StatusCode.PERMISSION_DENIED
    assert rpc_error(worker.GetCareSchedule, pb.GetCareScheduleRequest(
        person_id=str(uuid.uuid4()))).code() == grpc.StatusCode.NOT_FOUND


def test_volunteers_are_registered_within_their_bounds(tree: Tree, volunteer: str) -> None:
    api = volunteer_admin(tree, volunteer)
    made = api.RegisterVolunteer(new_volunteer(tree))
    assert made.max_load == 5 and made.load == 0 and not made.verified
    assert made.phone == "138****1111"
    assert api.VerifyVolunteer(pb.VerifyVolunteerRequest(volunteer_id=made.volunteer_id)
                               ).verified
    exc = rpc_error(api.RegisterVolunteer, new_volunteer(
        tree, name="", kind=9, phone="12", skills=["Bad Skill"], max_load=9,
        grid_paths=["nope"], availability=pb.Availability(weekdays=[8], hours="9-5")))
    assert exc.code() == INVALID
    assert set(violations(exc)) == {"name", "kind", "phone", "skills[0]", "max_load",
                                    "grid_paths[0]", "availability.weekdays[0]",
                                    "availability.hours"}
    worker = volunteer_stub(volunteer, token("grid_worker", [tree.grid_paths[0]]))
    assert rpc_error(worker.RegisterVolunteer, new_volunteer(tree, grid=1)
                     ).code() == grpc.StatusCode.PERMISSION_DENIED
    assert rpc_error(worker.VerifyVolunteer, pb.VerifyVolunteerRequest(
        volunteer_id=made.volunteer_id)).code() == grpc.StatusCode.PERMISSION_DENIED
