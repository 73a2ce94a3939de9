"""The local issuer's limit on failed logins (scripts/local_issuer.py; the running issuer:
tests/integration/test_local_issuer.py)."""

from __future__ import annotations

from local_issuer import MAX_ADDRESS_FAILURES, MAX_FAILURES, Failures


def test_failures_block_their_key_only_once_the_limit_is_reached() -> None:
    failures = Failures(limit=3)
    for _ in range(2):
        failures.record("gw-01")
    assert not failures.blocked("gw-01")
    failures.record("gw-01")
    assert failures.blocked("gw-01") and not failures.blocked("gw-02")


def test_an_address_may_fail_more_often_than_one_username() -> None:
    assert MAX_FAILURES < MAX_ADDRESS_FAILURES
