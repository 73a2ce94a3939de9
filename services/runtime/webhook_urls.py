"""Which webhook URLs the platform may call (the notification service's webhooks, the partner
gateway's subscribers), checked when a webhook is registered and again at send time (so a name
that later resolves to an internal address is still refused).

Rules (each refusal is a ``WebhookUrlError`` naming the field and the rule):

    length       at most 2048 characters
    syntax       the URL must parse (a valid port number, balanced IPv6 brackets)
    fragment     no ``#fragment``
    userinfo     no ``user:password@`` part
    host         a host is required; a name must be a valid (IDNA) host name, and a number must
                 be a dotted-quad IPv4 address (``http://2130706433/`` is refused)
    scheme       https; plain http only for an IP literal inside an allowed network (a
                 development receiver on 127.0.0.1), since a name could resolve anywhere later
    loopback, private, link_local, multicast, unspecified, reserved
                 an address (the literal in the URL, or every address the name resolves to)
                 of that kind is refused unless it lies inside an allowed network. RFC 1918 and
                 fc00::/7 are private; 169.254.0.0/16 (cloud metadata 169.254.169.254) and
                 fe80::/10 are link-local; 0.0.0.0/8 and :: are unspecified; any other address
                 that is not globally routable is reserved. An IPv6 address embedding an IPv4
                 one (::ffff:a.b.c.d, 64:ff9b::a.b.c.d, 6to4) is judged by the embedded address.

Any port is accepted. Names are only syntax-checked at registration; ``resolve_and_check``
resolves them with the event loop's getaddrinfo at send time and checks every address.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_URL_LENGTH = 2048
# What development and tests allow: receivers on this machine.
DEVELOPMENT_NETWORKS: tuple[Network, ...] = (ipaddress.IPv4Network("127.0.0.0/8"),)

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_THIS_NETWORK = ipaddress.IPv4Network("0.0.0.0/8")
_PRIVATE = tuple(ipaddress.ip_network(n) for n in
                 ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"))


class WebhookUrlError(ValueError):
    """A URL the platform will not call; ``field`` and ``rule`` are safe to show and log (the
    URL itself is never part of the message)."""

    def __init__(self, rule: str, detail: str = "", field: str = "url") -> None:
        message = f"{field}: refused by rule {rule!r}" + (f" ({detail})" if detail else "")
        super().__init__(message)
        self.field = field
        self.rule = rule


@dataclass(frozen=True)
class CheckedUrl:
    scheme: str
    host: str                  # ASCII (IDNA) host name, or the address for an IP literal
    port: int
    address: Address | None    # set when the host is an IP literal


def parse_networks(text: str) -> tuple[Network, ...]:
    """Allowed networks from a comma-separated setting such as ``"127.0.0.0/8, ::1/128"``."""
    return tuple(ipaddress.ip_network(part.strip()) for part in text.split(",") if part.strip())


def _embedded_ipv4(address: Address) -> ipaddress.IPv4Address | None:
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour


def _allowed(address: Address, allowed_networks: Sequence[Network]) -> bool:
    inner = _embedded_ipv4(address)
    return any(address in net or (inner is not None and inner in net)
               for net in allowed_networks)


def _kind(address: Address) -> str | None:
    """The rule an address breaks, or None for a globally routable address."""
    inner = _embedded_ipv4(address)
    if inner is not None:
        return _kind(inner)
    if address.is_unspecified or (isinstance(address, ipaddress.IPv4Address)
                                  and address in _THIS_NETWORK):
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link_local"
    if address.is_multicast:
        return "multicast"
    if any(address in net for net in _PRIVATE):
        return "private"
    if address.is_reserved or not address.is_global:
        return "reserved"
    return None


def check_address(address: Address, allowed_networks: Sequence[Network]) -> None:
    """Raises WebhookUrlError when the platform may not connect to this address."""
    if _allowed(address, allowed_networks):
        return
    rule = _kind(address)
    if rule is not None:
        raise WebhookUrlError(rule, "address not in an allowed network")


def _check_host_name(host: str) -> str:
    """The ASCII form of a host name, or WebhookUrlError(rule="host")."""
    name = host[:-1] if host.endswith(".") else host
    try:
        ascii_name = name.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise WebhookUrlError("host", "not a valid host name") from None
    labels = ascii_name.split(".")
    if len(ascii_name) > 253 or not all(_LABEL.match(label) for label in labels):
        raise WebhookUrlError("host", "not a valid host name")
    last = labels[-1]
    if last.isdigit() or last.startswith("0x"):  # resolvers read these as IPv4 numbers
        raise WebhookUrlError("host", "a numeric host must be a dotted-quad IPv4 address")
    return ascii_name


def _parse(url: str, allowed_networks: Sequence[Network]) -> CheckedUrl:
    if len(url) > MAX_URL_LENGTH:
        raise WebhookUrlError("length", f"longer than {MAX_URL_LENGTH} characters")
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        raise WebhookUrlError("syntax", "whitespace or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise WebhookUrlError("syntax", "not a valid URL") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise WebhookUrlError("scheme", "only https (or http to an allowed network)")
    if "#" in url:
        raise WebhookUrlError("fragment", "a URL fragment is not allowed")
    if "@" in parts.netloc:
        raise WebhookUrlError("userinfo", "credentials in the URL are not allowed")
    host = parts.hostname or ""
    if not host:
        raise WebhookUrlError("host", "a host is required")
    address: Address | None
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is None:
        host = _check_host_name(host)
    else:
        check_address(address, allowed_networks)
        host = str(address)
    if scheme == "http" and (address is None or not _allowed(address, allowed_networks)):
        raise WebhookUrlError("scheme", "http only to an IP address in an allowed network")
    return CheckedUrl(scheme, host, port or (443 if scheme == "https" else 80), address)


def check_webhook_url(url: str, allowed_networks: Sequence[Network]) -> str:
    """Checks a URL at registration (no DNS lookup); returns it unchanged when it is allowed."""
    _parse(url, allowed_networks)
    return url


async def resolve_host(host: str, port: int, allowed_networks: Sequence[Network],
                       family: int = socket.AF_UNSPEC) -> list[tuple[int, str]]:
    """(family, address) of every address ``host`` resolves to, each checked; a refused address
    raises WebhookUrlError, a failed lookup raises OSError (socket.gaierror)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, family=family, type=socket.SOCK_STREAM)
    found: list[tuple[int, str]] = []
    for info_family, _, _, _, sockaddr in infos:
        text = str(sockaddr[0])
        check_address(ipaddress.ip_address(text.split("%", 1)[0]), allowed_networks)
        if (info_family, text) not in found:
            found.append((info_family, text))
    if not found:
        raise socket.gaierror(socket.EAI_NONAME, "no address")
    return found


async def resolve_and_check(url: str, allowed_networks: Sequence[Network]) -> list[str]:
    """At send time: the URL's rules again, then every address its host resolves to (an IP
    literal is not resolved). Returns the addresses; raises WebhookUrlError or OSError."""
    checked = _parse(url, allowed_networks)
    if checked.address is not None:
        return [str(checked.address)]
    return [address for _, address in
            await resolve_host(checked.host, checked.port, allowed_networks)]
