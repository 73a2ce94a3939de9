"""Which webhook URLs may be registered and called: https only (http to an allowed network), no
credentials or fragments, and no loopback, private, link-local (cloud metadata), multicast,
unspecified or reserved address, also when hidden in an IPv4-mapped IPv6 address or behind a
name that resolves to one at send time (DNS rebinding)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import Any

import pytest

from runtime.webhook_urls import (
    DEVELOPMENT_NETWORKS,
    WebhookUrlError,
    check_webhook_url,
    parse_networks,
    resolve_and_check,
)

NONE: tuple[ipaddress.IPv4Network, ...] = ()


def rule_of(url: str, allowed: Any = NONE) -> str:
    with pytest.raises(WebhookUrlError) as refused:
        check_webhook_url(url, allowed)
    assert refused.value.field == "url"
    assert f"rule {refused.value.rule!r}" in str(refused.value)
    assert url not in str(refused.value)
    return refused.value.rule


@pytest.mark.parametrize("url", [
    "https://hooks.example.org/cdsp",
    "https://hooks.example.org:8443/cdsp?token=abc",
    "https://HOOKS.Example.org./x",
    "https://例子.中国/回调",                 # IDNA
    "https://8.8.8.8/hook",
    "https://[2001:4860:4860::8888]:9000/hook",
    "https://[::ffff:8.8.8.8]/hook",         # mapped, but a public address
])
def test_public_https_urls_are_accepted(url: str) -> None:
    assert check_webhook_url(url, NONE) == url


@pytest.mark.parametrize(("url", "rule"), [
    ("http://hooks.example.org/cdsp", "scheme"),
    ("http://8.8.8.8/cdsp", "scheme"),
    ("ftp://hooks.example.org/cdsp", "scheme"),
    ("file:///etc/passwd", "scheme"),
    ("javascript:alert(1)", "scheme"),
    ("hooks.example.org/cdsp", "scheme"),
    ("https://user:pass@hooks.example.org/", "userinfo"),
    ("https://user@hooks.example.org/", "userinfo"),
    ("https://hooks.example.org\\@evil.example/", "userinfo"),
    ("https:///path-only", "host"),
    ("https://", "host"),
    ("https://bad_host.example/", "host"),
    ("https://-bad.example/", "host"),
    ("https://2130706433/", "host"),          # 127.0.0.1 as one number
    ("https://0x7f.1/", "host"),
    ("https://127.1/", "host"),
    ("https://%31%32%37.0.0.1/", "host"),
    ("https://hooks.example.org/#frag", "fragment"),
    ("https://hooks.example.org/#", "fragment"),
    ("https://hooks.example.org:99999/", "syntax"),
    ("https://[::1/", "syntax"),
    ("https://hooks.example.org/a b", "syntax"),
    ("https://hooks.example.org/" + "a" * 2030, "length"),
])
def test_malformed_urls_name_the_rule(url: str, rule: str) -> None:
    assert rule_of(url) == rule


def test_length_limit_is_2048_characters() -> None:
    base = "https://hooks.example.org/"
    assert check_webhook_url(base + "a" * (2048 - len(base)), NONE)
    assert rule_of(base + "a" * (2049 - len(base))) == "length"


@pytest.mark.parametrize(("host", "rule"), [
    ("127.0.0.1", "loopback"),
    ("127.8.9.10", "loopback"),
    ("[::1]", "loopback"),
    ("10.1.2.3", "private"),
    ("172.16.0.1", "private"),
    ("172.31.255.254", "private"),
    ("192.168.1.1", "private"),
    ("[fc00::1]", "private"),
    ("[fd12:3456::1]", "private"),
    ("169.254.169.254", "link_local"),       # cloud metadata
    ("169.254.1.1", "link_local"),
    ("[fe80::1]", "link_local"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("[ff02::1]", "multicast"),
    ("0.0.0.0", "unspecified"),
    ("0.1.2.3", "unspecified"),
    ("[::]", "unspecified"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "reserved"),
    ("100.64.0.1", "reserved"),              # carrier-grade NAT
    ("192.0.2.1", "reserved"),               # documentation
    ("[::ffff:127.0.0.1]", "loopback"),      # IPv4-mapped IPv6
    ("[::ffff:169.254.169.254]", "link_local"),
    ("[::ffff:10.0.0.1]", "private"),
    ("[::ffff:7f00:1]", "loopback"),
    ("[64:ff9b::a00:1]", "private"),         # NAT64 of 10.0.0.1
    ("[2002:7f00:1::]", "loopback"),         # 6to4 of 127.0.0.1
])
def test_internal_addresses_are_refused(host: str, rule: str) -> None:
    assert rule_of(f"https://{host}:8080/hook") == rule
    assert rule_of(f"http://{host}/hook") == rule  # the address rule, before the scheme one


def test_allowed_network_admits_its_addresses_over_http_and_https() -> None:
    assert check_webhook_url("http://127.0.0.1:8080/hook", DEVELOPMENT_NETWORKS)
    assert check_webhook_url("https://127.0.0.1/hook", DEVELOPMENT_NETWORKS)
    assert check_webhook_url("http://[::ffff:127.0.0.1]:9/hook", DEVELOPMENT_NETWORKS)
    # ...and nothing else: other internal addresses, and http to a name or public address
    assert rule_of("http://10.0.0.1/hook", DEVELOPMENT_NETWORKS) == "private"
    assert rule_of("http://[::1]/hook", DEVELOPMENT_NETWORKS) == "loopback"
    assert rule_of("http://localhost:8080/hook", DEVELOPMENT_NETWORKS) == "scheme"
    assert rule_of("http://8.8.8.8/hook", DEVELOPMENT_NETWORKS) == "scheme"


def test_parse_networks() -> None:
    assert parse_networks(" 127.0.0.0/8, ::1/128 ,") == (
        ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))
    assert parse_networks("") == ()
    assert check_webhook_url("http://10.9.8.7/x", parse_networks("10.9.0.0/16"))


def test_error_is_a_value_error_with_field_and_rule() -> None:
    error = WebhookUrlError("scheme", "only https")
    assert isinstance(error, ValueError)
    assert (error.field, error.rule) == ("url", "scheme")
    assert str(error) == "url: refused by rule 'scheme' (only https)"


# --- at send time: every resolved address ----------------------------------------------------
def fake_dns(monkeypatch: pytest.MonkeyPatch, answers: dict[str, list[str]]) -> list[str]:
    asked: list[str] = []

    async def getaddrinfo(host: str, port: int, **_: Any) -> list[Any]:
        asked.append(host)
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "unknown")
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "",
                 (a, port)) for a in answers[host]]

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", getaddrinfo)
    return asked


async def test_resolve_returns_every_public_address(monkeypatch: pytest.MonkeyPatch) -> None:
    asked = fake_dns(monkeypatch, {"hooks.example.org": ["93.184.216.34", "2606:2800::1"]})
    found = await resolve_and_check("https://hooks.example.org/x", NONE)
    assert found == ["93.184.216.34", "2606:2800::1"]
    assert asked == ["hooks.example.org"]


@pytest.mark.parametrize(("answers", "rule"), [
    (["93.184.216.34", "10.0.0.5"], "private"),         # one bad address is enough
    (["169.254.169.254"], "link_local"),
    (["127.0.0.1"], "loopback"),
    (["::ffff:192.168.0.1"], "private"),
    (["::1"], "loopback"),
])
async def test_resolve_refuses_a_name_rebound_to_an_internal_address(
        monkeypatch: pytest.MonkeyPatch, answers: list[str], rule: str) -> None:
    fake_dns(monkeypatch, {"rebind.example.org": answers})
    with pytest.raises(WebhookUrlError) as refused:
        await resolve_and_check("https://rebind.example.org/x", NONE)
    assert refused.value.rule == rule


async def test_resolve_idna_name_and_literal(monkeypatch: pytest.MonkeyPatch) -> None:
    asked = fake_dns(monkeypatch, {"xn--fsqu00a.xn--fiqs8s": ["93.184.216.34"]})
    assert await resolve_and_check("https://例子.中国/", NONE) == ["93.184.216.34"]
    assert asked == ["xn--fsqu00a.xn--fiqs8s"]
    # an IP literal is not looked up
    assert await resolve_and_check("http://127.0.0.1:9/x", DEVELOPMENT_NETWORKS) == ["127.0.0.1"]
    assert asked == ["xn--fsqu00a.xn--fiqs8s"]


async def test_resolve_rechecks_the_url_rules_and_reports_lookup_failures(
        monkeypatch: pytest.MonkeyPatch) -> None:
    asked = fake_dns(monkeypatch, {})
    with pytest.raises(WebhookUrlError) as refused:
        await resolve_and_check("ftp://hooks.example.org/", NONE)
    assert refused.value.rule == "scheme"
    with pytest.raises(OSError):
        await resolve_and_check("https://nowhere.example.org/", NONE)
    assert asked == ["nowhere.example.org"]


async def test_resolve_localhost_with_the_real_resolver() -> None:
    with pytest.raises(WebhookUrlError) as refused:
        await resolve_and_check("https://localhost:8443/hook", NONE)
    assert refused.value.rule == "loopback"
