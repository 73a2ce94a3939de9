"""The notification service's settings: defaults, and a clear error naming the variable."""

from __future__ import annotations

import ipaddress
from datetime import time

import pytest

from notification.config import NotifySettings
from notification.domain.policy import QuietHours
from runtime.settings import SettingsError


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CDSP_NOTIFY_QUIET_HOURS", "CDSP_WEBHOOK_ALLOWED_NETWORKS", "CDSP_ENV",
                 "CDSP_SMS_PROVIDER_URL", "CDSP_SMTP_HOST"):
        monkeypatch.delenv(name, raising=False)
    s = NotifySettings.from_env()
    assert s.quiet_hours == QuietHours(time(22), time(7))
    assert (s.max_attempts, s.rate_per_hour, s.locale) == (5, 6, "zh-CN")
    assert ipaddress.ip_network("127.0.0.0/8") in s.allowed_networks  # development
    assert not s.provider_url and not s.smtp_host


def test_production_allows_no_private_webhooks_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CDSP_ENV", "production")
    monkeypatch.delenv("CDSP_WEBHOOK_ALLOWED_NETWORKS", raising=False)
    assert NotifySettings.from_env().allowed_networks == ()


@pytest.mark.parametrize(("name", "value", "message"), [
    ("CDSP_NOTIFY_QUIET_HOURS", "late", "CDSP_NOTIFY_QUIET_HOURS"),
    ("CDSP_NOTIFY_MAX_ATTEMPTS", "0", "CDSP_NOTIFY_MAX_ATTEMPTS"),
    ("CDSP_NOTIFY_LOCALE", "fr", "CDSP_NOTIFY_LOCALE"),
    ("CDSP_WEBHOOK_ALLOWED_NETWORKS", "10.0.0.0/33", "CDSP_WEBHOOK_ALLOWED_NETWORKS"),
    ("CDSP_SMS_PROVIDER_URL", "https://sms.example.org", "CDSP_SMS_PROVIDER_KEY"),
])
def test_a_bad_setting_names_the_variable(monkeypatch: pytest.MonkeyPatch, name: str, value: str,
                                          message: str) -> None:
    monkeypatch.delenv("CDSP_SMS_PROVIDER_KEY", raising=False)
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=message):
        NotifySettings.from_env()
