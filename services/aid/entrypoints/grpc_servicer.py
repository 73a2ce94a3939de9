"""AidService over gRPC: one class made of one part per area (cases, requests, relief, kits),
each turning requests into use-case calls; errors are mapped by the runtime's interceptor."""

from __future__ import annotations

from aid.config import Aid
from aid.entrypoints.grpc_cases import CaseMethods
from aid.entrypoints.grpc_kits import KitMethods
from aid.entrypoints.grpc_relief import ReliefMethods
from aid.entrypoints.grpc_requests import RequestMethods
from cdsp.aid.v1 import aid_pb2_grpc


class AidServicer(CaseMethods, RequestMethods, ReliefMethods, KitMethods,
                  aid_pb2_grpc.AidServiceServicer):
    def __init__(self, aid: Aid) -> None:
        self.aid = aid
