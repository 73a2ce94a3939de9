"""The service image (services/Dockerfile) and the one-host platform (docker-compose.yml), checked
without a Docker engine (none runs here): the files are parsed and what must hold is asserted,
and the image's /app is assembled from the Dockerfile's own COPY lines and run with nothing else
on the import path, so a service that needs a file the image lacks fails here."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

import devstack

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "services" / "Dockerfile"
COMPOSE = ROOT / "docker-compose.yml"
BUILD_TOOLS = re.compile(r"\b(apt-get|apk|gcc|g\+\+|make|build-essential|curl|wget)\b")


def stages() -> list[list[str]]:
    """The Dockerfile's instructions (continuation lines joined), one list per stage."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    out: list[list[str]] = [[]]
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM ") and out[-1] and any(
                i.upper().startswith("FROM ") for i in out[-1]):
            out.append([])
        out[-1].append(line)
    return out


def arg_default(name: str) -> str:
    for line in stages()[0]:
        m = re.fullmatch(rf"ARG {name}=(\S+)", line)
        if m:
            return m.group(1)
    raise AssertionError(f"no ARG {name}=... in the Dockerfile")


def test_the_image_is_multi_stage_slim_pinned_and_non_root() -> None:
    build, final = stages()[-2:]
    base = arg_default("PYTHON_IMAGE")
    m = re.fullmatch(r"python:(\d+)\.(\d+)\.(\d+)-slim-\w+", base)
    assert m, f"base image {base} is not a slim Python pinned to a patch version"
    assert (int(m[1]), int(m[2])) == sys.version_info[:2], "the image runs another Python"
    build_from = next(i for i in build if i.startswith("FROM "))
    assert build_from == "FROM ${PYTHON_IMAGE} AS build", build_from
    assert final[0] == "FROM ${PYTHON_IMAGE}", final[0]
    assert any(i.startswith("COPY --from=build /opt/venv") for i in final)
    finals = " ".join(final)
    assert not BUILD_TOOLS.search(finals), "the final stage installs build tools"
    assert "pip uninstall -y pip setuptools" in " ".join(build), "pip stays in the image"
    user = next(i for i in final if i.startswith("USER "))
    uid = user.split()[1].split(":")[0]
    assert uid.isdigit() and int(uid) >= 10000, user
    assert final.index(user) > max(i for i, line in enumerate(final)
                                   if line.startswith(("RUN ", "COPY ")))
    assert any(i.startswith("STOPSIGNAL SIGTERM") for i in final)
    command = healthcheck_command()
    assert command[:2] == ["sh", "-c"], command
    assert "python -m runtime.health_probe" in command[2], command
    assert "python -m console.entrypoints.health_probe" in command[2], command
    assert "compileall" in finals, "byte code must be compiled at build time (read-only root)"


def exec_form(instruction: str) -> list[str]:
    """The JSON (exec) form of the final stage's ENTRYPOINT or HEALTHCHECK ... CMD."""
    line = next(i for i in stages()[-1] if i.startswith(f"{instruction} "))
    found = json.loads(line[line.index("["):])
    assert isinstance(found, list) and all(isinstance(a, str) for a in found), line
    return found


def healthcheck_command() -> list[str]:
    return exec_form("HEALTHCHECK")


def assemble_app(dest: Path, service: str) -> Path:
    """/app as the final stage's COPY lines build it for `service`."""
    app = dest / "app"
    for line in stages()[-1]:
        parts = line.split()
        if parts[0] != "COPY" or parts[1].startswith("--from"):
            continue
        src, target = parts[1].replace("${SERVICE}", service), parts[2]
        target = target.replace("${SERVICE}", service).removeprefix("./")
        shutil.copytree(ROOT / src, app / target)
    return app


@pytest.mark.parametrize("service", devstack.SERVICES)
def test_the_image_layout_holds_all_a_service_needs(tmp_path: Path, service: str) -> None:
    app = assemble_app(tmp_path, service)
    assert (app / service / "migrations").is_dir(), "the service's migrations are not copied"
    assert sorted((app / service / "migrations").glob("*.sql"))
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(app), "PYTHONDONTWRITEBYTECODE": "1",
           "CDSP_SERVICE_MODULE": f"{service}.entrypoints.main"}
    probe = ("import importlib, os, runtime.health_probe, runtime.migrate_cli; "
             "importlib.import_module(os.environ['CDSP_SERVICE_MODULE']); "
             f"print(runtime.migrate_cli.service_migrations({service!r}))")
    done = subprocess.run([sys.executable, "-P", "-c", probe], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == str(app / service / "migrations")


def test_the_image_layout_lacks_what_a_service_would_need_from_elsewhere(
        tmp_path: Path) -> None:
    """The check above can fail: without the runtime, a service does not import."""
    app = assemble_app(tmp_path, "aid")
    shutil.rmtree(app / "runtime")
    done = subprocess.run([sys.executable, "-P", "-c", "import aid.entrypoints.main"],
                          cwd=tmp_path, env={"PYTHONPATH": str(app)},
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode != 0 and "runtime" in done.stderr


# ---------------------------------------------------------------- docker-compose.yml


def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict)
    return data


def test_compose_runs_the_five_services_hardened_and_health_gated() -> None:
    services = compose()["services"]
    for name in devstack.SERVICES:
        svc, migrate = services[name], services[f"{name}-migrate"]
        assert migrate["build"] == svc["build"] and migrate["image"] == svc["image"]
        assert migrate["entrypoint"] == ["python", "-m", "runtime.migrate_cli", name]
        assert migrate["restart"] == "no" and migrate["read_only"] is True
        owner = migrate["environment"]["CDSP_DATABASE_URL"]
        assert owner.startswith(f"postgresql://cdsp_{name}:${{CDSP_DB_OWNER_PASSWORD}}@"), owner
        assert migrate["environment"]["CDSP_DB_APP_ROLE"] == f"cdsp_{name}_app"
        assert svc["environment"]["CDSP_DATABASE_URL"].startswith(
            f"postgresql://cdsp_{name}_app:${{CDSP_DB_PASSWORD}}@")
        assert svc["environment"]["CDSP_MIGRATE_ON_START"] == "false"
        assert svc["depends_on"][f"{name}-migrate"] == {
            "condition": "service_completed_successfully"}
        assert svc["build"]["dockerfile"] == "services/Dockerfile"
        assert svc["build"]["args"]["SERVICE"] == name
        assert svc["read_only"] is True and "/tmp" in svc["tmpfs"], name  # noqa: S108
        assert svc["healthcheck"]["test"] == ["CMD", "python", "-m", "runtime.health_probe"]
        env = svc["environment"]
        assert env["CDSP_GRPC_ADDR"] == f"0.0.0.0:{devstack.GRPC_PORTS[name]}"
        grpc, metrics = devstack.GRPC_PORTS[name], devstack.METRICS_PORTS[name]
        # Published on the loopback address only (a reverse proxy publishes on purpose).
        assert svc["ports"] == [f"127.0.0.1:{grpc}:{grpc}", f"127.0.0.1:{metrics}:{metrics}"]
        assert env["CDSP_DATABASE_URL"].endswith(f"@postgres:5432/cdsp_{name}"), name
        assert env["CDSP_KAFKA_BOOTSTRAP"] == "kafka:9092"
        assert {"postgres", "kafka"} <= set(svc["depends_on"]), name
    for name, svc in services.items():
        for dep, how in (svc.get("depends_on") or {}).items():
            if dep.endswith("-migrate"):
                assert how == {"condition": "service_completed_successfully"}, f"{name} -> {dep}"
                continue
            assert how == {"condition": "service_healthy"}, f"{name} -> {dep}"
            assert "test" in services[dep].get("healthcheck", {}), (
                f"{name} waits on {dep}, which has no health check")
    order = start_order(services)
    assert order.index("registry") < min(order.index(s) for s in
                                         ("aid", "employment", "volunteer"))
    assert order.index("notification") > max(order.index(s) for s in
                                              ("aid", "employment", "volunteer"))
    # The partner gateway after the services whose topics it consumes.
    assert order.index("partner") > max(order.index(s) for s in
                                         ("registry", "aid", "employment"))


def test_compose_sends_the_partner_s_webhooks_to_public_addresses_only() -> None:
    """Production: no private or loopback network may be allowed for webhooks (the runtime's
    SSRF rules), in the partner gateway as in the notification service."""
    services = compose()["services"]
    for name in ("partner", "notification"):
        assert services[name]["environment"].get("CDSP_WEBHOOK_ALLOWED_NETWORKS", "") == "", name
        assert services[name]["environment"]["CDSP_ENV"] == "production", name


def start_order(services: dict[str, Any]) -> list[str]:
    """A start order compose can follow (fails on a dependency cycle)."""
    order: list[str] = []
    pending = dict(services)
    while pending:
        ready = [n for n, s in pending.items() if set(s.get("depends_on") or {}) <= set(order)]
        assert ready, f"dependency cycle among {sorted(pending)}"
        order.extend(sorted(ready))
        for n in ready:
            del pending[n]
    return order


def test_compose_kafka_is_the_official_image_in_kraft_mode() -> None:
    kafka = compose()["services"]["kafka"]
    assert re.fullmatch(r"apache/kafka:\d+\.\d+\.\d+", kafka["image"]), kafka["image"]
    env = kafka["environment"]
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert "ZOOKEEPER" not in " ".join(env).upper()
    assert env["KAFKA_ADVERTISED_LISTENERS"] == "PLAINTEXT://kafka:9092"
    assert re.fullmatch(r"postgres:\d+\.\d+-\w+", compose()["services"]["postgres"]["image"])


def test_compose_carries_no_secret() -> None:
    """Passwords come from the operator's environment, required at start; no token signing key
    exists on the services' side at all."""
    text = COMPOSE.read_text()
    assert "CDSP_TOKEN_SECRET" not in text and "PRIVATE KEY" not in text
    for name in ("POSTGRES_PASSWORD", "CDSP_DB_PASSWORD",
                 "CDSP_DB_OWNER_PASSWORD", "GF_SECURITY_ADMIN_PASSWORD"):
        values = re.findall(rf"{name}: (.*)", text)
        assert values and all(re.fullmatch(r"\$\{\w+:\?[^}]+\}", v) for v in values), name
    urls = re.findall(r"postgresql://([^@\s]+)@", text)
    assert urls and all(u.endswith((":${CDSP_DB_PASSWORD}", ":${CDSP_DB_OWNER_PASSWORD}"))
                        for u in urls)


def test_the_start_order_check_finds_a_cycle() -> None:
    with pytest.raises(AssertionError, match="cycle"):
        start_order({"a": {"depends_on": {"b": {}}}, "b": {"depends_on": {"a": {}}}})


def test_compose_takes_the_identity_provider_from_the_operator() -> None:
    """Its issuer, JWKS and revocation list are required at start (https URLs: the services run
    with CDSP_ENV=production); each service accepts the tokens of its own audience only."""
    text = COMPOSE.read_text()
    for name in ("CDSP_TOKEN_ISSUER", "CDSP_TOKEN_JWKS", "CDSP_TOKEN_REVOCATIONS"):
        values = re.findall(rf"{name}: (.*)", text)
        assert len(values) == 1 and re.fullmatch(rf"\$\{{{name}:\?[^}}]+\}}", values[0]), name
    services = compose()["services"]
    audiences = set()
    for name in devstack.SERVICES:
        env = services[name]["environment"]
        assert env["CDSP_ENV"] == "production"
        assert env["CDSP_TOKEN_JWKS"] == "${CDSP_TOKEN_JWKS:?set CDSP_TOKEN_JWKS to the https " \
                                         "URL of the identity provider's JWKS}"
        assert env["CDSP_TOKEN_AUDIENCE"] == f"cdsp-{name}"
        audiences.add(env["CDSP_TOKEN_AUDIENCE"])
        assert "CDSP_TOKEN_JWKS" not in services[f"{name}-migrate"]["environment"]
    assert len(audiences) == len(devstack.SERVICES)
