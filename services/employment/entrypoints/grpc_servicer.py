"""EmploymentService over gRPC: one class made of one part per area (plans, courses, jobs,
placements), each turning requests into use-case calls; errors are mapped by the runtime's
interceptor."""

from __future__ import annotations

from cdsp.employment.v1 import employment_pb2_grpc
from employment.config import Employment
from employment.entrypoints.grpc_courses import CourseMethods
from employment.entrypoints.grpc_jobs import JobMethods
from employment.entrypoints.grpc_placements import PlacementMethods
from employment.entrypoints.grpc_plans import PlanMethods


class EmploymentServicer(PlanMethods, CourseMethods, JobMethods, PlacementMethods,
                         employment_pb2_grpc.EmploymentServiceServicer):
    def __init__(self, emp: Employment) -> None:
        self.emp = emp
