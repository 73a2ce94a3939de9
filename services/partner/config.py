"""The partner gateway's settings (environment variables) and what its use cases share.

    CDSP_PARTNER_KEYS             kid:base64(32 bytes), comma-separated (the first seals): the
                                  keys that seal subscribers' secrets and pseudonym keys
                                  (required; the same format and rotation as CDSP_PII_KEYS)
    CDSP_PARTNER_MAX_ATTEMPTS     attempts before a delivery is dead-lettered (8)
    CDSP_PARTNER_RETRY_BASE_MS    the first retry's delay, doubled each time (1000) ...
    CDSP_PARTNER_RETRY_CAP_MS     ... up to this (300000: 5 minutes)
    CDSP_PARTNER_BATCH            deliveries claimed per round (200)
    CDSP_PARTNER_LEASE_S          how long a claimed delivery is another replica's to leave (60)
    CDSP_PARTNER_TIMEOUT_S        one webhook request's timeout (10)
    CDSP_PARTNER_OVERLAP_S        how long a rotated secret still signs by default (86400)
    CDSP_WEBHOOK_ALLOWED_NETWORKS CIDRs a webhook may point into although private or loopback
                                  (as the notification service: 127.0.0.0/8,::1/128 in
                                  development, none in production)
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass

from runtime.db import Database
from runtime.pii import PiiKeys
from runtime.settings import SettingsError, env_int
from runtime.webhook_urls import Network


@dataclass(frozen=True)
class PartnerSettings:
    max_attempts: int = 8
    retry_base_s: float = 1.0
    retry_cap_s: float = 300.0
    batch: int = 200
    lease_s: int = 60
    timeout_s: float = 10.0
    overlap_s: int = 86_400
    allowed_networks: tuple[Network, ...] = ()

    @classmethod
    def from_env(cls) -> PartnerSettings:
        env = os.environ.get
        development = env("CDSP_ENV", "development") == "development"
        default_nets = "127.0.0.0/8,::1/128" if development else ""
        try:
            nets = tuple(ipaddress.ip_network(n.strip()) for n in
                         env("CDSP_WEBHOOK_ALLOWED_NETWORKS", default_nets).split(",") if n.strip())
        except ValueError as e:
            raise SettingsError(f"CDSP_WEBHOOK_ALLOWED_NETWORKS: {e}") from None
        return cls(max_attempts=env_int("CDSP_PARTNER_MAX_ATTEMPTS", 8, 1, 100),
                   retry_base_s=env_int("CDSP_PARTNER_RETRY_BASE_MS", 1000, 1, 3_600_000) / 1000,
                   retry_cap_s=env_int("CDSP_PARTNER_RETRY_CAP_MS", 300_000, 1,
                                       86_400_000) / 1000,
                   batch=env_int("CDSP_PARTNER_BATCH", 200, 1, 5000),
                   lease_s=env_int("CDSP_PARTNER_LEASE_S", 60, 5, 3600),
                   timeout_s=float(env_int("CDSP_PARTNER_TIMEOUT_S", 10, 1, 120)),
                   overlap_s=env_int("CDSP_PARTNER_OVERLAP_S", 86_400, 0, 30 * 86_400),
                   allowed_networks=nets)

    def backoff_s(self, attempts: int) -> float:
        """The delay after the `attempts`-th failed attempt."""
        return float(min(self.retry_cap_s, self.retry_base_s * 2 ** min(attempts - 1, 30)))


def partner_keys(env: dict[str, str] | None = None) -> PiiKeys:
    source = os.environ if env is None else env
    return PiiKeys.sealing_only(source.get("CDSP_PARTNER_KEYS", ""), "CDSP_PARTNER_KEYS",
                                "subscribers' secrets and pseudonym keys")


@dataclass
class Partners:
    """What the gateway's use cases share."""

    db: Database
    settings: PartnerSettings
    keys: PiiKeys
    database_url: str
    kafka_bootstrap: str
    partitions: int = 6
    replication: int = 1
