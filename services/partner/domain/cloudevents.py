"""A PartnerEvent as a webhook receives it: a CloudEvent 1.0 in structured JSON mode, signed.

    POST <url>
    Content-Type: application/cloudevents+json
    X-CDSP-Delivery: <event id>          the same on every retry: receivers de-duplicate on it
    X-CDSP-Timestamp: <unix seconds>     when this attempt was signed
    X-CDSP-Signature: sha256=<hex>[,sha256=<hex>]
                                         HMAC-SHA256(secret, b"<timestamp>." + body) under the
                                         current secret, then (during a rotation's overlap) the
                                         old one: a receiver accepts the request if any matches

The body: specversion, id, source "/cdsp/partner", type, subject, time (RFC 3339, UTC),
datacontenttype application/json, cdspsequence, cdspjurisdiction (and cdspreplay when re-sent by
a replay), data = the payload in protobuf's JSON mapping.
"""

from __future__ import annotations

import hmac
import json
import time

from google.protobuf import json_format
from google.protobuf.message import Message

from cdsp.partner.v1 import events_pb2 as pev
from partner.domain.catalogue import PAYLOADS
from runtime.webhook_client import sign

CONTENT_TYPE = "application/cloudevents+json"
SOURCE = "/cdsp/partner"


def payload_of(event: pev.PartnerEvent) -> Message:
    payload = PAYLOADS[event.type]()
    event.data.Unpack(payload)
    return payload


def to_cloudevent(event: pev.PartnerEvent) -> dict[str, object]:
    doc: dict[str, object] = {
        "specversion": "1.0", "id": event.id, "source": SOURCE, "type": event.type,
        "subject": event.subject,
        "time": event.time.ToDatetime().strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "datacontenttype": "application/json", "cdspsequence": event.sequence,
        "cdspjurisdiction": event.jurisdiction,
        "data": json_format.MessageToDict(payload_of(event)),
    }
    if event.replay:
        doc["cdspreplay"] = True
    return doc


def encode(event: pev.PartnerEvent) -> bytes:
    return json.dumps(to_cloudevent(event), ensure_ascii=False, separators=(",", ":"),
                      sort_keys=True).encode("utf-8")


def headers(event_id: str, body: bytes, secrets: list[str], now: float | None = None
            ) -> dict[str, str]:
    """The request's headers, signed with each secret (the current one first)."""
    timestamp = int(time.time() if now is None else now)
    return {"Content-Type": CONTENT_TYPE, "X-CDSP-Delivery": event_id,
            "X-CDSP-Timestamp": str(timestamp),
            "X-CDSP-Signature": ",".join(sign(s, timestamp, body) for s in secrets)}


def verify(secret: str, timestamp: str, body: bytes, header: str, tolerance_s: float = 300,
           now: float | None = None) -> bool:
    """For receivers: one of the header's signatures is the body's under `secret`, and the
    timestamp is within `tolerance_s`."""
    if not secret or not (timestamp.isascii() and timestamp.isdigit()):
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > tolerance_s:
        return False
    expected = sign(secret, timestamp, body).encode()
    return any(hmac.compare_digest(expected, part.strip().encode())
               for part in header.split(","))
