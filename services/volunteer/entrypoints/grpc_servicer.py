"""VolunteerService over gRPC: one class made of one part per area (volunteers and care
schedules, pairings, visits, hours), each turning requests into use-case calls."""

from __future__ import annotations

from cdsp.volunteer.v1 import volunteer_pb2_grpc
from volunteer.config import Volunteers
from volunteer.entrypoints.grpc_care import CareMethods
from volunteer.entrypoints.grpc_hours import HourMethods
from volunteer.entrypoints.grpc_pairings import PairingMethods
from volunteer.entrypoints.grpc_visits import VisitMethods


class VolunteerServicer(CareMethods, PairingMethods, VisitMethods, HourMethods,
                        volunteer_pb2_grpc.VolunteerServiceServicer):
    def __init__(self, v: Volunteers) -> None:
        self.v = v
