"""Service errors and the violations collector."""

from __future__ import annotations

import grpc
import pytest

from runtime.errors import (
    AlreadyExists,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ServiceError,
    Unauthenticated,
    Violations,
)


def test_violations_collects_everything_and_raises_once() -> None:
    v = Violations()
    assert not v
    assert v.check(True, "name", "required") is True
    assert not v
    assert v.check(False, "name", "required") is False
    v.add("phone", "must be a valid phone")
    assert v
    with pytest.raises(InvalidArgument) as exc:
        v.raise_if_any()
    assert exc.value.violations == [FieldViolation("name", "required"),
                                    FieldViolation("phone", "must be a valid phone")]
    assert exc.value.message == "name: required; phone: must be a valid phone"
    assert str(exc.value) == exc.value.message
    assert exc.value.code == grpc.StatusCode.INVALID_ARGUMENT


def test_no_violations_raises_nothing() -> None:
    Violations().raise_if_any()


def test_invalid_argument_without_violations_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="at least one violation"):
        InvalidArgument([])


@pytest.mark.parametrize(("cls", "code"), [
    (NotFound, grpc.StatusCode.NOT_FOUND),
    (AlreadyExists, grpc.StatusCode.ALREADY_EXISTS),
    (FailedPrecondition, grpc.StatusCode.FAILED_PRECONDITION),
    (PermissionDenied, grpc.StatusCode.PERMISSION_DENIED),
    (Unauthenticated, grpc.StatusCode.UNAUTHENTICATED),
    (ServiceError, grpc.StatusCode.INTERNAL),
])
def test_each_error_maps_to_its_status(cls: type[ServiceError], code: grpc.StatusCode) -> None:
    err = cls("what went wrong")
    assert err.code == code
    assert err.message == "what went wrong"
    assert isinstance(err, ServiceError)
