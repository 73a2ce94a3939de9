"""The worker console from the image (services/Dockerfile with SERVICE=console) and in
docker-compose.yml, checked without a Docker engine like the services (test_images.py): /app is
assembled from the Dockerfile's COPY lines and the console is started from it with the image's
own ENTRYPOINT and nothing else on the import path; it must serve its pages, templates and static
files, and the image's HEALTHCHECK must ask it over HTTP (and a service over gRPC)."""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

import devstack
from console.config import DEFAULT_ADDRS
from runtime.token_signing import generate_key, jwks
from tests.deploy.test_images import (
    COMPOSE,
    ROOT,
    assemble_app,
    compose,
    exec_form,
    healthcheck_command,
    start_order,
)

PORTS = {"http": 8080, "metrics": 9109}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def image_env(app: Path, module: str, **extra: str) -> dict[str, str]:
    """The image's environment (its ENV line) around `app`, Python from this virtualenv."""
    return {"PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
            "PYTHONPATH": str(app), "PYTHONSAFEPATH": "1", "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONUNBUFFERED": "1", "CDSP_SERVICE_MODULE": module, **extra}


def run_healthcheck(cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(healthcheck_command(), cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=30, check=False)


def get(url: str) -> tuple[int, str, str]:
    with urllib.request.urlopen(url, timeout=5) as reply:  # noqa: S310 - a local test server
        return reply.status, reply.headers.get("content-type", ""), reply.read().decode()


@pytest.fixture(scope="module")
def console_from_image(tmp_path_factory: pytest.TempPathFactory
                       ) -> Iterator[tuple[str, Path, dict[str, str]]]:
    """The console started with the image's ENTRYPOINT from an assembled /app (development
    settings: a JWKS file, plain HTTP); yields (its URL, the work folder, its environment)."""
    work = tmp_path_factory.mktemp("console-image")
    app = assemble_app(work, "console")
    (work / "jwks.json").write_text(json.dumps(jwks([generate_key("dev-")])))
    port, metrics = free_port(), free_port()
    env = image_env(app, "console.entrypoints.main",
                    CDSP_ENV="development", CDSP_CONSOLE_ADDR=f"0.0.0.0:{port}",
                    CDSP_METRICS_ADDR=f"127.0.0.1:{metrics}",
                    CDSP_CONSOLE_TOKEN_URL="http://127.0.0.1:9/token",
                    CDSP_CONSOLE_SESSION_KEYS=f"t1:{base64.b64encode(os.urandom(32)).decode()}",
                    CDSP_CONSOLE_COOKIE_SECURE="false",
                    CDSP_TOKEN_JWKS=str(work / "jwks.json"))
    log = (work / "console.log").open("wb")
    proc = subprocess.Popen(exec_form("ENTRYPOINT"), cwd=work, env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while not devstack.port_open(port):
            assert proc.poll() is None and time.monotonic() < deadline, (
                (work / "console.log").read_text()[-3000:])
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}", work, env
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
        log.close()
        # A graceful stop; uvicorn then re-raises the signal, so the status says SIGTERM.
        text = (work / "console.log").read_text()
        assert code in (0, -signal.SIGTERM) and "Application shutdown complete" in text, text


def test_the_image_serves_the_console_its_templates_and_static_files(
        console_from_image: tuple[str, Path, dict[str, str]]) -> None:
    url, work, _ = console_from_image
    assert get(f"{url}/healthz")[0::2] == (200, "ok")
    status, kind, page = get(f"{url}/login")
    assert status == 200 and kind.startswith("text/html"), (status, kind)
    assert '<link rel="stylesheet" href="/static/console.css">' in page
    assert 'name="username"' in page and 'name="password"' in page
    for asset, media in (("console.css", "text/css"), ("console.js", "javascript")):
        status, kind, _ = get(f"{url}/static/{asset}")
        assert status == 200 and media in kind, (asset, status, kind)
    assert "Traceback" not in (work / "console.log").read_text()
    for folder in ("templates", "static"):  # every one of them, whatever pages are added
        shipped = {p.relative_to(work / "app") for p in (work / "app" / "console" / folder
                                                         ).rglob("*") if p.is_file()}
        source = {p.relative_to(ROOT / "services") for p in (ROOT / "services" / "console" /
                                                             folder).rglob("*") if p.is_file()}
        assert shipped == source and shipped, folder


def test_the_image_serves_the_event_catalogue_without_sign_in(
        console_from_image: tuple[str, Path, dict[str, str]]) -> None:
    """docs/events is copied into the image (the console finds it above its package)."""
    url, work, _ = console_from_image
    status, kind, page = get(f"{url}/events")  # a redirect to /login would lack the names
    assert status == 200 and kind.startswith("text/html"), (status, kind)
    assert "cdsp.registry.v1" in page and "PersonRegistered" in page
    status, kind, text = get(f"{url}/events/asyncapi.yaml")
    assert status == 200 and kind.startswith("text/yaml"), (status, kind)
    catalogue = ROOT / "docs" / "events"
    assert text == (catalogue / "asyncapi.yaml").read_text(encoding="utf-8")
    shipped = work / "app" / "docs" / "events"
    assert sorted(p.name for p in shipped.iterdir()) == sorted(
        p.name for p in catalogue.iterdir())


def test_the_healthcheck_asks_the_console_over_http(
        console_from_image: tuple[str, Path, dict[str, str]], tmp_path: Path) -> None:
    _, work, env = console_from_image
    done = run_healthcheck(work, env)
    assert done.returncode == 0, done.stderr
    nobody = {**env, "CDSP_CONSOLE_ADDR": f"0.0.0.0:{free_port()}"}
    done = run_healthcheck(work, nobody)
    assert done.returncode == 1 and "/healthz: no answer" in done.stderr, done.stderr


def test_the_healthcheck_asks_a_service_over_grpc(tmp_path: Path) -> None:
    app = assemble_app(tmp_path, "registry")
    port = free_port()
    env = image_env(app, "registry.entrypoints.main", CDSP_GRPC_ADDR=f"0.0.0.0:{port}")
    done = run_healthcheck(tmp_path, env)
    assert done.returncode == 1, done.stderr
    assert f"health_probe: 127.0.0.1:{port} service ''" in done.stderr, done.stderr


# ---------------------------------------------------------------- docker-compose.yml


def test_compose_runs_the_console_hardened_after_the_five_services() -> None:
    services = compose()["services"]
    # The services the console calls (its backends): the five, not the partner gateway.
    calls = sorted(DEFAULT_ADDRS)
    assert set(calls) == set(devstack.SERVICES) - {"partner"}
    console = services["console"]
    assert console["build"] == {"context": ".", "dockerfile": "services/Dockerfile",
                                "args": {"SERVICE": "console"}}
    assert console["image"] == "cdsp/console:${CDSP_TAG:-pilot}"
    assert console["read_only"] is True and "/tmp" in console["tmpfs"]  # noqa: S108
    assert console["ports"] == [f"127.0.0.1:{PORTS['http']}:{PORTS['http']}",
                                f"127.0.0.1:{PORTS['metrics']}:{PORTS['metrics']}"]
    assert console["healthcheck"]["test"] == ["CMD", "python", "-m",
                                              "console.entrypoints.health_probe"]
    assert set(console["depends_on"]) == set(calls)
    assert all(how == {"condition": "service_healthy"} for how in console["depends_on"].values())
    order = start_order(services)
    assert order.index("console") > max(order.index(s) for s in calls)
    env = console["environment"]
    assert env["CDSP_ENV"] == "production"
    assert env["CDSP_CONSOLE_ADDR"] == f"0.0.0.0:{PORTS['http']}"
    assert env["CDSP_METRICS_ADDR"] == f"0.0.0.0:{PORTS['metrics']}"
    for name in calls:
        assert env[f"CDSP_{name.upper()}_ADDR"] == f"{name}:{devstack.GRPC_PORTS[name]}"
    assert "CDSP_PARTNER_ADDR" not in env
    assert env["CDSP_TOKEN_AUDIENCE"] == "cdsp-console"
    assert env["CDSP_TOKEN_JWKS"] == services["registry"]["environment"]["CDSP_TOKEN_JWKS"]
    assert env["CDSP_TOKEN_REVOCATIONS"] == services["registry"]["environment"][
        "CDSP_TOKEN_REVOCATIONS"]
    # No database, no broker: the console reaches the platform through the services only.
    assert not {k for k in env if k.startswith(("CDSP_DATABASE", "CDSP_KAFKA", "CDSP_PII"))}


def test_compose_takes_the_console_s_secrets_and_identity_from_the_operator() -> None:
    env = compose()["services"]["console"]["environment"]
    for name in ("CDSP_CONSOLE_SESSION_KEYS", "CDSP_CONSOLE_TOKEN_URL"):
        assert re.fullmatch(rf"\$\{{{name}:\?[^}}]+\}}", env[name]), name
    # Secure cookies (production refuses anything else): the browser reaches the console over
    # HTTPS through the host's reverse proxy, or on the loopback address, which browsers treat
    # as a secure origin.
    assert env["CDSP_CONSOLE_COOKIE_SECURE"] == "true"
    text = COMPOSE.read_text()
    assert len(re.findall(r"CDSP_CONSOLE_SESSION_KEYS: (.*)", text)) == 1


def test_compose_s_prometheus_scrapes_the_console_as_part_of_the_platform() -> None:
    config = yaml.safe_load((ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())
    [job] = [j for j in config["scrape_configs"] if j["job_name"] == "console"]
    assert job["static_configs"] == [{"targets": [f"console:{PORTS['metrics']}"],
                                      "labels": {"part_of": "cdsp"}}]
