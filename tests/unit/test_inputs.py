"""Page tokens and page sizes of the registry's list queries."""

from __future__ import annotations

import base64
import uuid
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runtime.errors import InvalidArgument
from runtime.inputs import (
    DEFAULT_PAGE,
    MAX_PAGE,
    decode_page_token,
    next_page,
    page_size,
)

KEY = lambda row: row.person.person_id  # noqa: E731

PROPERTY = settings(max_examples=200, deadline=None)


def rows(*person_ids: str) -> list[Any]:
    return [SimpleNamespace(person=SimpleNamespace(person_id=pid)) for pid in person_ids]


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@PROPERTY
@given(ids=st.lists(st.binary(min_size=16, max_size=16).map(lambda b: uuid.UUID(bytes=b)),
                    min_size=1, max_size=5))
def test_token_round_trip_gives_the_last_id_of_a_full_page(ids: list[uuid.UUID]) -> None:
    fetched = rows(*map(str, ids), str(uuid.uuid4()))  # one more than the page: more exist
    page, token = next_page(fetched, len(ids), KEY)
    assert [r.person.person_id for r in page] == [str(i) for i in ids]
    assert token
    assert "=" not in token
    assert decode_page_token(token) == str(ids[-1])


def test_a_page_with_nothing_after_it_is_the_last_page() -> None:
    assert next_page(rows(str(uuid.uuid4())), 2, KEY)[1] == ""
    assert next_page(rows(str(uuid.uuid4()), str(uuid.uuid4())), 2, KEY)[1] == ""  # exactly full
    assert next_page([], 50, KEY) == ([], "")


def test_empty_token_means_the_first_page() -> None:
    assert decode_page_token("") == ""


def test_decoded_ids_are_canonical() -> None:
    pid = uuid.uuid4()
    assert decode_page_token(b64(str(pid).upper().encode())) == str(pid)


@pytest.mark.parametrize("token", [
    "!!!",
    "not-a-token",
    "a",
    "é",
    b64(b"hello"),
    b64(b"\xff\xfe\xfd"),
    b64(b"5b0f7c1e-3f7a-4d55-9a35"),
    b64(b"5b0f7c1e-3f7a-4d55-9a35-2f1e8f0c9a10x"),
    str(uuid.uuid4()),
])
def test_garbage_tokens_name_page_token(token: str) -> None:
    with pytest.raises(InvalidArgument) as exc:
        decode_page_token(token)
    assert [v.field for v in exc.value.violations] == ["page_token"]


@PROPERTY
@given(token=st.one_of(st.text(max_size=60), st.binary(max_size=45).map(b64)))
def test_any_token_is_a_uuid_or_an_invalid_page_token(token: str) -> None:
    try:
        decoded = decode_page_token(token)
    except InvalidArgument as exc:
        assert [v.field for v in exc.violations] == ["page_token"]
    else:
        assert decoded == "" or decoded == str(uuid.UUID(decoded))


@pytest.mark.parametrize(("requested", "size"), [(0, DEFAULT_PAGE), (1, 1), (50, 50),
                                                 (MAX_PAGE, MAX_PAGE)])
def test_page_size(requested: int, size: int) -> None:
    assert DEFAULT_PAGE == 50
    assert page_size(requested) == size


@pytest.mark.parametrize("requested", [-1, -500, MAX_PAGE + 1, 10**9])
def test_page_size_out_of_bounds(requested: int) -> None:
    assert MAX_PAGE == 500
    with pytest.raises(InvalidArgument) as exc:
        page_size(requested)
    assert [v.field for v in exc.value.violations] == ["page_size"]
