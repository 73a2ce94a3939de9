"""The webhook channel: each claimed delivery POSTed as a signed CloudEvent
(partner.domain.cloudevents). Any 2xx is acknowledged; redirects are never followed (refused
for good); 408, 425, 429 and 5xx, timeouts and connection errors are tried again; other 4xx are
refused for good. The URL is checked against the rules (runtime.webhook_urls) before every
attempt and every address again as the connection is made (runtime.webhook_client)."""

from __future__ import annotations

import aiohttp

from cdsp.partner.v1 import events_pb2 as pev
from partner.adapters.delivery_store import Claimed
from partner.config import Partners
from partner.domain import cloudevents
from partner.service.delivery import Refused, TryLater
from partner.service.keys import signing_secrets
from runtime.webhook_client import RETRYABLE_STATUSES, checked_session, connection_reason
from runtime.webhook_urls import WebhookUrlError, resolve_and_check


class WebhookSender:
    def __init__(self, p: Partners) -> None:
        self.p = p
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = checked_session(self.p.settings.allowed_networks,
                                            self.p.settings.timeout_s, "CDSP-Partner/1")
        return self._session

    async def send(self, c: Claimed) -> None:
        nets = self.p.settings.allowed_networks
        try:
            await resolve_and_check(c.url, nets)
        except WebhookUrlError as exc:
            raise Refused(f"webhook URL refused: rule {exc.rule}") from None
        except OSError:
            raise TryLater("DNS lookup failed") from None
        event = pev.PartnerEvent.FromString(c.event)
        body = cloudevents.encode(event)
        secrets = signing_secrets(self.p.keys, c.subscriber_id, c.secret_sealed,
                                  c.old_secret_sealed, c.old_secret_until)
        headers = cloudevents.headers(event.id, body, secrets)
        try:
            async with self._client().post(c.url, data=body, headers=headers,
                                           allow_redirects=False) as response:
                status = response.status
        except WebhookUrlError as exc:
            raise Refused(f"webhook URL refused: rule {exc.rule}") from None
        except TimeoutError:
            raise TryLater(f"timeout after {self.p.settings.timeout_s:g}s") from None
        except (aiohttp.ClientError, OSError) as exc:
            raise TryLater(connection_reason(exc)) from None
        if 200 <= status < 300:
            return
        if status in RETRYABLE_STATUSES or status >= 500:
            raise TryLater(f"HTTP {status}")
        raise Refused(f"HTTP {status}" + (": redirects are not followed"
                                          if 300 <= status < 400 else ""))

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
