"""Masking personal data in logs."""

from __future__ import annotations

import json
import logging
import sys

import pytest

from runtime.logs import JsonFormatter, mask_email, mask_personal_data, mask_resident_id

RESIDENT_ID = "11010519491231002X"
CERTIFICATE = "35050219800310001142"
MOBILE = "13812345678"


@pytest.mark.parametrize(("text", "masked"), [
    (f"person {RESIDENT_ID} saved", "person 110105************ saved"),
    (f"person {RESIDENT_ID.lower()} saved", "person 110105************ saved"),
    ("id=350502198003100011;", "id=350502************;"),
    (f"certificate {CERTIFICATE}.", "certificate 350502**************."),
    ("certificate 11010519491231002X71 ok", "certificate 110105************** ok"),
    (f"call {MOBILE} now", "call 138****5678 now"),
    (f"tel:{MOBILE},", "tel:138****5678,"),
    (f"{RESIDENT_ID}/{MOBILE}", "110105************/138****5678"),
])
def test_personal_numbers_inside_text_are_masked(text: str, masked: str) -> None:
    assert mask_personal_data(text) == masked


@pytest.mark.parametrize("text", [
    "verification code 482913",
    "8 digits: 12345678",
    "10 digits 1234567890",
    "12 digits 138123456789",            # not a mobile number: too long
    "17 digits 12345678901234567",
    "19 digits 1234567890123456789",
    "landline 0592-1234567",
    "2025-06-15T10:00:00Z took 1500 ms",
    "uuid 5b0f7c1e-3f7a-4d55-9a35-2f1e8f0c9a10",
])
def test_other_numbers_are_kept(text: str) -> None:
    assert mask_personal_data(text) == text


def test_mobile_with_country_code_is_masked() -> None:
    # "+86" followed directly by the mobile number is a common way of writing it.
    masked = mask_personal_data(f"call +86{MOBILE}")
    assert MOBILE not in masked


@pytest.mark.parametrize(("value", "masked"), [
    (RESIDENT_ID, "110105************"),
    ("350502198003100011", "350502************"),
    ("123456", "******"),
    ("", ""),
    ("12345678", "123456**"),
])
def test_mask_resident_id(value: str, masked: str) -> None:
    assert mask_resident_id(value) == masked
    assert len(mask_resident_id(value)) == len(value)


def make_record(message: str, *args: object, exc: bool = False) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError(f"duplicate resident {RESIDENT_ID} (phone {MOBILE})")
        except ValueError:
            exc_info = sys.exc_info()
    return logging.LogRecord("cdsp.registry", logging.WARNING, __file__, 1, message, args,
                             exc_info)


def test_json_formatter_masks_the_message() -> None:
    record = make_record("registered %s with phone %s", RESIDENT_ID, MOBILE)
    record.request_id = "req-1"
    line = JsonFormatter("registry").format(record)
    entry = json.loads(line)
    assert entry["msg"] == "registered 110105************ with phone 138****5678"
    assert entry["level"] == "WARNING"
    assert entry["service"] == "registry"
    assert entry["logger"] == "cdsp.registry"
    assert entry["request_id"] == "req-1"
    assert entry["ts"].endswith("Z")
    assert "exc" not in entry
    assert "\n" not in line
    assert RESIDENT_ID not in line and MOBILE not in line


def test_json_formatter_masks_exception_text() -> None:
    line = JsonFormatter("registry").format(make_record("failed", exc=True))
    entry = json.loads(line)
    assert "ValueError: duplicate resident 110105************ (phone 138****5678)" in entry["exc"]
    assert "Traceback" in entry["exc"]
    assert RESIDENT_ID not in line
    assert MOBILE not in line


def test_json_formatter_keeps_non_ascii_text() -> None:
    entry = json.loads(JsonFormatter("registry").format(make_record("登记 %s", "张三")))
    assert entry["msg"] == "登记 张三"


def test_e_mail_addresses_are_masked() -> None:
    assert mask_email("zhang.san@example.org") == "z***@example.org"
    assert mask_email("nonsense") == "********"
    text = mask_personal_data("smtp refused <li.si@mail.example.cn> and 13812345678")
    assert "li.si" not in text and "l***@mail.example.cn" in text and "12345678" not in text
