"""Sealing personal identifiers at rest (runtime.pii) and masking that cannot be undone."""

from __future__ import annotations

import base64
import itertools
from datetime import date

import pytest

from registry.adapters.review_store import common_path
from registry.domain.resident_id import check_char, parse_resident_id
from runtime.logs import mask_resident_id
from runtime.pii import PiiKeys, SealError, aad, key_id, new_key
from runtime.settings import SettingsError

RESIDENT_ID = "350102199003071234"[:17]
RESIDENT_ID += check_char(RESIDENT_ID)
ROW = aad("persons.resident_id", "7d1f0f3e-0000-4000-8000-000000000001")


def keys(spec: str = "", index: str = "") -> PiiKeys:
    return PiiKeys.parse(spec or f"k1:{new_key()}", index or new_key())


def test_a_sealed_value_opens_in_its_own_row_only() -> None:
    k = keys()
    sealed = k.seal(RESIDENT_ID, ROW)
    assert RESIDENT_ID.encode() not in sealed and key_id(sealed) == "k1"
    assert k.open(sealed, ROW) == RESIDENT_ID
    assert k.seal(RESIDENT_ID, ROW) != sealed  # a fresh nonce each time
    other_row = aad("persons.resident_id", "7d1f0f3e-0000-4000-8000-000000000002")
    with pytest.raises(SealError, match="does not open for this row"):
        k.open(sealed, other_row)
    with pytest.raises(SealError, match="does not open"):
        k.open(sealed, aad("persons.certificate_number", "7d1f0f3e-0000-4000-8000-000000000001"))
    altered = bytearray(sealed)
    altered[-1] ^= 1
    with pytest.raises(SealError):
        k.open(bytes(altered), ROW)


def test_rotation_seals_with_the_first_key_and_opens_with_every_key() -> None:
    old, new = new_key(), new_key()
    before = PiiKeys.parse(f"k1:{old}", new_key())
    sealed = before.seal(RESIDENT_ID, ROW)
    after = PiiKeys.parse(f"k2:{new},k1:{old}", new_key())
    assert after.open(sealed, ROW) == RESIDENT_ID
    assert key_id(after.seal(RESIDENT_ID, ROW)) == "k2"
    dropped = PiiKeys.parse(f"k2:{new}", new_key())
    with pytest.raises(SealError, match="key k1, which CDSP_PII_KEYS does not hold"):
        dropped.open(sealed, ROW)


def test_the_blind_index_is_equal_for_equal_values_and_keyed() -> None:
    index_key = new_key()
    a, b = keys(index=index_key), keys(index=index_key)
    assert a.index("persons.resident_id", RESIDENT_ID) == b.index("persons.resident_id",
                                                                   RESIDENT_ID)
    assert a.index("persons.resident_id", RESIDENT_ID) != a.index("other", RESIDENT_ID)
    assert keys().index("persons.resident_id", RESIDENT_ID) != a.index("persons.resident_id",
                                                                        RESIDENT_ID)


@pytest.mark.parametrize(("spec", "index", "message"), [
    ("", "x", "CDSP_PII_KEYS is required"),
    ("k1", "x", "each entry is kid:base64key"),
    ("k 1:AAAA", "x", "each entry is kid:base64key"),
    ("k1:not base64!", "x", r"CDSP_PII_KEYS \(k1\): not base64"),
    (f"k1:{base64.b64encode(b'short').decode()}", "x", "must be 32 bytes"),
    ("k1:{key},k1:{key}", "x", "key id k1 given twice"),
    ("k1:{key}", "", "CDSP_PII_INDEX_KEY is required"),
    ("k1:{key}", "AAAA", "CDSP_PII_INDEX_KEY: a key must be 32 bytes"),
])
def test_keys_that_cannot_work_are_refused_naming_the_setting(spec: str, index: str,
                                                              message: str) -> None:
    key = new_key()
    with pytest.raises(SettingsError, match=message):
        PiiKeys.parse(spec.replace("{key}", key), index)


def test_a_masked_id_with_the_birth_date_and_sex_leaves_hundreds_of_candidates() -> None:
    """What a masked reader sees: the masked ID, the birth date and the sex. Every valid
    resident ID consistent with all three is a candidate; none may narrow it to a few."""
    today = date(2026, 12, 2)
    for rid in (RESIDENT_ID, "11010519491231002X"):
        known = parse_resident_id(rid, today)
        masked = mask_resident_id(rid)
        shown = masked.rstrip("*")
        candidates = []
        for seq in itertools.product("0123456789", repeat=3):
            first17 = f"{shown}{known.birth_date:%Y%m%d}{''.join(seq)}"
            candidate = first17 + check_char(first17)
            parsed = parse_resident_id(candidate, today)
            if (mask_resident_id(candidate) == masked and parsed.sex == known.sex
                    and parsed.birth_date == known.birth_date):
                candidates.append(candidate)
        assert rid in candidates
        assert len(candidates) >= 500, (masked, len(candidates))


@pytest.mark.parametrize(("a", "b", "common"), [
    ("/3505/350502/c1/g1/", "/3505/350502/c1/g2/", "/3505/350502/c1/"),
    ("/3505/350502/c1/g1/", "/3505/350503/c9/g1/", "/3505/"),
    ("/3505/a/", "/3505/a/", "/3505/a/"),
    ("/3505/a/b/", "/3505/a/", "/3505/a/"),
    ("/A/", "/B/", "/"),
])
def test_a_review_is_filed_where_both_places_meet(a: str, b: str, common: str) -> None:
    assert common_path(a, b) == common_path(b, a) == common
