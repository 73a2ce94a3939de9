from __future__ import annotations

import pytest

from runtime.health_probe import local_address


@pytest.mark.parametrize(("bind", "expected"), [
    ("0.0.0.0:50051", "127.0.0.1:50051"),
    ("[::]:50052", "127.0.0.1:50052"),
    (":50053", "127.0.0.1:50053"),
    ("registry:50051", "registry:50051"),
    ("127.0.0.1:20051", "127.0.0.1:20051"),
])
def test_local_address(bind: str, expected: str) -> None:
    assert local_address(bind) == expected


@pytest.mark.parametrize("bind", ["", "registry", "registry:grpc"])
def test_local_address_refuses_what_is_not_host_port(bind: str) -> None:
    with pytest.raises(ValueError, match="host:port"):
        local_address(bind)
