"""The notification service's settings (environment variables) and the object its use cases
share: database, settings, rules, templates, wording and senders.

    CDSP_NOTIFY_LOCALE            template language for recipients                (zh-CN)
    CDSP_NOTIFY_MAX_ATTEMPTS      tries per delivery before it is marked failed   (5)
    CDSP_NOTIFY_RETRY_BASE_MS     first retry delay; doubles each try, jittered   (2000)
    CDSP_NOTIFY_RETRY_CAP_MS      longest retry delay                            (600000)
    CDSP_NOTIFY_RATE_PER_HOUR     SMS/voice/e-mail notices an hour per recipient  (6; 0 = no limit)
    CDSP_NOTIFY_QUIET_HOURS       local quiet hours for SMS and voice            (22:00-07:00;
                                  empty = none). Urgent notices ignore both limits.
    CDSP_NOTIFY_BATCH             deliveries claimed per dispatcher round         (200)
    CDSP_NOTIFY_CONCURRENCY       sends in flight at once                         (32)
    CDSP_NOTIFY_LEASE_S           a claimed delivery is retried after this if its
                                  process died mid-send                          (120)
    CDSP_WEBHOOK_ALLOWED_NETWORKS CIDRs a webhook may point into although private or loopback
                                  (development: 127.0.0.0/8,::1/128; production: none)
    CDSP_SMTP_HOST / _PORT / _FROM / _STARTTLS / _USERNAME / _PASSWORD
                                  e-mail relay (no host: workers get no e-mail)
    CDSP_SMS_PROVIDER_URL / _KEY  SMS and voice provider (see adapters/senders/provider.py;
                                  no URL: SMS and voice deliveries fail with that reason)
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from notification.adapters.senders.base import Sender
from notification.domain.policy import QuietHours
from notification.domain.rules import RuleBook, default_rules
from notification.domain.templates import REQUIRED_LOCALES, TemplateBook, default_book
from notification.domain.wording import Wording, default_wording
from runtime.db import Database
from runtime.settings import SettingsError, env_int

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class NotifySettings:
    locale: str = "zh-CN"
    max_attempts: int = 5
    retry_base_s: float = 2.0
    retry_cap_s: float = 600.0
    rate_per_hour: int = 6
    quiet_hours: QuietHours | None = None
    batch: int = 200
    concurrency: int = 32
    lease_s: int = 120
    allowed_networks: tuple[Network, ...] = ()
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_from: str = "notices@cdsp.invalid"
    smtp_starttls: bool = False
    smtp_username: str = ""
    smtp_password: str = ""
    provider_url: str = ""
    provider_key: str = ""

    @classmethod
    def from_env(cls) -> NotifySettings:
        env = os.environ.get
        locale = env("CDSP_NOTIFY_LOCALE", "zh-CN")
        if locale not in REQUIRED_LOCALES:
            raise SettingsError(f"CDSP_NOTIFY_LOCALE must be one of {', '.join(REQUIRED_LOCALES)}")
        try:
            quiet = QuietHours.parse(env("CDSP_NOTIFY_QUIET_HOURS", "22:00-07:00"))
        except ValueError as e:
            raise SettingsError(f"CDSP_NOTIFY_QUIET_HOURS: {e}") from None
        development = env("CDSP_ENV", "development") == "development"
        default_nets = "127.0.0.0/8,::1/128" if development else ""
        try:
            nets = tuple(ipaddress.ip_network(n.strip()) for n in
                         env("CDSP_WEBHOOK_ALLOWED_NETWORKS", default_nets).split(",") if n.strip())
        except ValueError as e:
            raise SettingsError(f"CDSP_WEBHOOK_ALLOWED_NETWORKS: {e}") from None
        provider_url = env("CDSP_SMS_PROVIDER_URL", "").rstrip("/")
        if provider_url and not env("CDSP_SMS_PROVIDER_KEY", ""):
            raise SettingsError("CDSP_SMS_PROVIDER_KEY is required when CDSP_SMS_PROVIDER_URL "
                                "is set")
        return cls(
            locale=locale,
            max_attempts=env_int("CDSP_NOTIFY_MAX_ATTEMPTS", 5, 1, 50),
            retry_base_s=env_int("CDSP_NOTIFY_RETRY_BASE_MS", 2000, 1, 3_600_000) / 1000,
            retry_cap_s=env_int("CDSP_NOTIFY_RETRY_CAP_MS", 600_000, 1, 86_400_000) / 1000,
            rate_per_hour=env_int("CDSP_NOTIFY_RATE_PER_HOUR", 6, 0, 10_000),
            quiet_hours=quiet,
            batch=env_int("CDSP_NOTIFY_BATCH", 200, 1, 5000),
            concurrency=env_int("CDSP_NOTIFY_CONCURRENCY", 32, 1, 1000),
            lease_s=env_int("CDSP_NOTIFY_LEASE_S", 120, 5, 3600),
            allowed_networks=nets,
            smtp_host=env("CDSP_SMTP_HOST", ""),
            smtp_port=env_int("CDSP_SMTP_PORT", 25, 1, 65535),
            smtp_from=env("CDSP_SMTP_FROM", "notices@cdsp.invalid"),
            smtp_starttls=env("CDSP_SMTP_STARTTLS", "") in ("1", "true", "yes"),
            smtp_username=env("CDSP_SMTP_USERNAME", ""),
            smtp_password=env("CDSP_SMTP_PASSWORD", ""),
            provider_url=provider_url,
            provider_key=env("CDSP_SMS_PROVIDER_KEY", ""),
        )


@dataclass
class Notifier:
    """What the notification use cases share."""

    db: Database
    settings: NotifySettings
    local_tz: ZoneInfo
    database_url: str = ""
    rules: RuleBook = field(default_factory=default_rules)
    templates: TemplateBook = field(default_factory=default_book)
    wording: Wording = field(default_factory=default_wording)
    senders: dict[str, Sender] = field(default_factory=dict)

    @property
    def email_enabled(self) -> bool:
        return "email" in self.senders
