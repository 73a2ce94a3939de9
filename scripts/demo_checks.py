"""The demo's checks: each prints ✓ or ✗ and a failed one makes `make demo` exit 1."""

from __future__ import annotations

from collections.abc import Callable

import grpc

from runtime.logs import mask_personal_data

failures: list[str] = []


def check(ok: bool, what: str) -> None:
    print(f"  {'✓' if ok else '✗ FAILED:'} {what}")
    if not ok:
        failures.append(what)


def expect_error(code: grpc.StatusCode, call: Callable[[], object], what: str
                 ) -> grpc.RpcError | None:
    try:
        call()
    except grpc.RpcError as exc:
        details = mask_personal_data(exc.details() or "")
        check(exc.code() == code, f"{what} → {exc.code().name} ({details})")
        return exc
    check(False, f"{what} → expected {code.name}, but the call succeeded")
    return None
