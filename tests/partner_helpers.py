"""Helpers for the partner gateway's tests: a webhook receiver (aiohttp, in a thread) that
records every CloudEvent per path and can be made to fail, and an admin client."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from cdsp.partner.v1 import partner_pb2 as pb
from cdsp.partner.v1 import partner_pb2_grpc
from runtime.grpc_client import sync_channel
from tests.helpers import token


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def doc(self) -> dict[str, Any]:
        return json.loads(self.body)  # type: ignore[no-any-return]


@dataclass
class Receiver:
    """POST /<path>: records the request; answers `status[path]` (200 by default)."""

    got: dict[str, list[Received]] = field(default_factory=dict)
    status: dict[str, int] = field(default_factory=dict)
    port: int = 0

    def start(self) -> Receiver:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        ready = threading.Event()

        async def handle(request: web.Request) -> web.Response:
            path = request.match_info["path"]
            status = self.status.get(path, 200)
            if status == 200:
                self.got.setdefault(path, []).append(
                    Received(dict(request.headers), await request.read()))
            return web.Response(status=status)

        def serve() -> None:
            loop = asyncio.new_event_loop()
            app = web.Application()
            app.router.add_post("/{path}", handle)
            runner = web.AppRunner(app)
            loop.run_until_complete(runner.setup())
            loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", self.port).start())
            ready.set()
            loop.run_forever()

        threading.Thread(target=serve, daemon=True).start()
        ready.wait(10)
        return self

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path}"

    def wait(self, path: str, done: Callable[[list[Received]], bool],
             timeout: float = 30.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if done(list(self.got.get(path, []))):
                return list(self.got.get(path, []))
            time.sleep(0.1)
        raise AssertionError(f"{path}: got {len(self.got.get(path, []))} within {timeout}s")


def admin(addr: str, scopes: list[str], role: str = "city_admin"
          ) -> partner_pb2_grpc.PartnerAdminServiceStub:
    return partner_pb2_grpc.PartnerAdminServiceStub(sync_channel(addr, token(role, scopes)))


def webhook_subscriber(code: str, path: str, url: str, types: list[str],
                       fields: list[str]) -> pb.Subscriber:
    s = pb.Subscriber(code=code, name=f"测试 {code}", purpose="integration test",
                      event_types=types, jurisdiction_path=path, fields=fields)
    s.webhook.url = url
    return s
