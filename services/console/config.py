"""The console's settings, read once from environment variables:

    CDSP_ENV                     development | production (production: Secure cookies only,
                                 https token endpoint and JWKS)
    CDSP_CONSOLE_ADDR            host:port of the web server                  (127.0.0.1:8080)
    CDSP_METRICS_ADDR            host:port of the Prometheus /metrics page    (127.0.0.1:9109)
    CDSP_CONSOLE_TOKEN_URL       the identity issuer's token endpoint (password sign-in)
                                 (required; the local issuer's /token in development)
    CDSP_CONSOLE_REVOKE_URL      where a signed-out worker's token is revoked (RFC 7009 token
                                 revocation; the local issuer's /revoke/token in development).
                                 Empty: signing out drops the cookie only, and the token
                                 lives until it expires
    CDSP_CONSOLE_CLIENT_ID, CDSP_CONSOLE_CLIENT_SECRET
                                 the console's OAuth client at the identity provider (sent
                                 with sign-in and revocation; empty for the local issuer)
    CDSP_CONSOLE_SESSION_KEYS    kid:base64 of 32 random bytes, comma separated: the first
                                 seals session cookies, all open them (rotation) (required)
    CDSP_CONSOLE_COOKIE_SECURE   send the session cookie over HTTPS only     (true; production
                                 refuses false)
    CDSP_CONSOLE_SESSION_TTL_S   how long a sign-in lasts (the token's lifetime) (28800, 8 h)
    CDSP_CONSOLE_CALL_TIMEOUT_S  deadline of each gRPC call to a service     (5)
    CDSP_<SERVICE>_ADDR          where the five services are (gRPC)
    CDSP_GRPC_TLS_CA, ...        gRPC over TLS to the services (runtime.grpc_tls)
    CDSP_TOKEN_*                 how the console checks the tokens it is given (audience
                                 cdsp-console; runtime/token_settings.py)
    CDSP_LOCAL_TZ                time zone pages show times in              (Asia/Shanghai)
    CDSP_LOG_LEVEL               INFO
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from runtime.settings import SettingsError, env_flag, env_int

BACKENDS = ("registry", "aid", "employment", "volunteer", "notification")
DEFAULT_ADDRS = {"registry": "127.0.0.1:50051", "aid": "127.0.0.1:50052",
                 "employment": "127.0.0.1:50053", "volunteer": "127.0.0.1:50054",
                 "notification": "127.0.0.1:50055"}
AUDIENCE = "cdsp-console"


@dataclass(frozen=True)
class ConsoleSettings:
    env: str
    addr: str
    metrics_addr: str
    token_url: str
    revoke_url: str
    session_keys: dict[str, bytes]  # kid -> 32-byte key, in order: the first seals
    cookie_secure: bool
    session_ttl_s: int
    call_timeout_s: float
    local_tz: ZoneInfo
    log_level: str = "INFO"
    client_id: str = ""
    client_secret: str = ""
    backends: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_ADDRS))

    @property
    def production(self) -> bool:
        return self.env == "production"


def parse_session_keys(text: str) -> dict[str, bytes]:
    keys: dict[str, bytes] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        kid, sep, encoded = item.partition(":")
        try:
            key = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            key = b""
        if not sep or not kid or len(key) != 32:
            raise SettingsError("CDSP_CONSOLE_SESSION_KEYS: each key is kid:base64 of 32 random "
                                "bytes, comma separated")
        if kid in keys:
            raise SettingsError(f"CDSP_CONSOLE_SESSION_KEYS: key id {kid!r} appears twice")
        keys[kid] = key
    if not keys:
        raise SettingsError("CDSP_CONSOLE_SESSION_KEYS is required: kid:base64 of 32 random "
                            "bytes (the first seals session cookies)")
    return keys


def load_console_settings(env: Mapping[str, str] = os.environ) -> ConsoleSettings:
    mode = env.get("CDSP_ENV", "development")
    if mode not in ("development", "production"):
        raise SettingsError(f"CDSP_ENV must be development or production, got {mode!r}")
    production = mode == "production"
    token_url = env.get("CDSP_CONSOLE_TOKEN_URL", "").strip()
    if not token_url.startswith(("http://", "https://")):
        raise SettingsError("CDSP_CONSOLE_TOKEN_URL is required: the identity issuer's token "
                            "endpoint (an http(s) URL)")
    if production and not token_url.startswith("https://"):
        raise SettingsError("CDSP_CONSOLE_TOKEN_URL must be https in production")
    revoke_url = env.get("CDSP_CONSOLE_REVOKE_URL", "").strip()
    if revoke_url and not revoke_url.startswith("https://" if production else ("http://",
                                                                             "https://")):
        raise SettingsError("CDSP_CONSOLE_REVOKE_URL must be an http(s) URL (https in "
                            "production)")
    secure = env_flag(env, "CDSP_CONSOLE_COOKIE_SECURE", True)
    if production and not secure:
        raise SettingsError("CDSP_CONSOLE_COOKIE_SECURE cannot be false in production")
    tz_name = env.get("CDSP_LOCAL_TZ", "Asia/Shanghai")
    try:
        local_tz = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"CDSP_LOCAL_TZ must be an IANA time zone, got {tz_name!r}") from None
    timeout = env_int("CDSP_CONSOLE_CALL_TIMEOUT_S", 5, 1, 60)
    return ConsoleSettings(
        env=mode,
        addr=env.get("CDSP_CONSOLE_ADDR", "127.0.0.1:8080"),
        metrics_addr=env.get("CDSP_METRICS_ADDR", "127.0.0.1:9109"),
        token_url=token_url,
        revoke_url=revoke_url,
        session_keys=parse_session_keys(env.get("CDSP_CONSOLE_SESSION_KEYS", "")),
        cookie_secure=secure,
        session_ttl_s=env_int("CDSP_CONSOLE_SESSION_TTL_S", 8 * 3600, 300, 12 * 3600),
        call_timeout_s=float(timeout),
        local_tz=local_tz,
        log_level=env.get("CDSP_LOG_LEVEL", "INFO"),
        client_id=env.get("CDSP_CONSOLE_CLIENT_ID", ""),
        client_secret=env.get("CDSP_CONSOLE_CLIENT_SECRET", ""),
        backends={name: env.get(f"CDSP_{name.upper()}_ADDR") or DEFAULT_ADDRS[name]
                  for name in BACKENDS},
    )
