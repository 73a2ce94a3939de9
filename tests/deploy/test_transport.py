"""What the deployments expose (issue 13): gRPC over TLS in the Helm chart (a certificate Secret
mounted, cert-manager friendly; native gRPC probes on a plaintext health-only port; mutual TLS on a
switch; reflection off in production) and docker-compose publishing every port on 127.0.0.1
only. Rendered offline like the chart's other manifests (tests/deploy/test_helm_chart.py)."""

from __future__ import annotations

import copy
from typing import Any

import helm_python
import pytest
from helm_python.chart import Chart

from runtime.grpc_tls import server_options
from tests.deploy.test_helm_chart import (
    CHART,
    KUBE_VERSIONS,
    NAMESPACE,
    RELEASE,
    REQUIRED,
    SERVICES,
    VALUE_SETS,
    Doc,
    get,
    merged,
    problems_service_set,
    render,
    schema_problems,
    services_of,
)
from tests.deploy.test_images import compose

TLS = {"grpcTls": {"enabled": True}}
MUTUAL_CERT_MANAGER = {"grpcTls": {"enabled": True, "clientAuth": True, "certManager": {
    "enabled": True, "issuerRef": {"name": "cdsp-ca", "kind": "Issuer"}}}}
DIR = "/etc/cdsp/grpc-tls"


def container(docs: list[Doc], svc: str) -> Doc:
    c: Doc = get(docs, "Deployment", f"{RELEASE}-{svc}")["spec"]["template"]["spec"][
        "containers"][0]
    return c


def env_of(docs: list[Doc], svc: str) -> dict[str, str | None]:
    return {e["name"]: e.get("value") for e in container(docs, svc)["env"]}


def test_plaintext_by_default_with_reflection_off_in_production() -> None:
    docs = render({})
    for svc, port in SERVICES.items():
        env = env_of(docs, svc)
        assert not {k for k in env if k.startswith("CDSP_GRPC_TLS") or k.endswith("HEALTH_ADDR")}
        assert container(docs, svc)["readinessProbe"]["grpc"]["port"] == port
        # The chart runs CDSP_ENV=production, where the runtime's default switches reflection off.
        assert env["CDSP_ENV"] == "production" and "CDSP_GRPC_REFLECTION" not in env
    assert server_options({}, production=True).reflection is False
    assert [d for d in docs if d["kind"] == "Certificate"] == []


@pytest.mark.parametrize("values_name", VALUE_SETS)
def test_tls_mounts_the_certificate_and_probes_the_plaintext_health_port(
        values_name: str) -> None:
    values = merged(VALUE_SETS[values_name], TLS)
    docs = render(values)
    for svc, entry in services_of(values).items():
        assert problems_service_set(docs, svc, entry["grpcPort"], entry["metricsPort"],
                                    owner_secret=(entry.get("database") or {}).get(
                                        "migrationSecretName")) == []
        c, env = container(docs, svc), env_of(docs, svc)
        assert (env["CDSP_GRPC_TLS_CERT"], env["CDSP_GRPC_TLS_KEY"], env["CDSP_GRPC_TLS_CA"]) == (
            f"{DIR}/tls.crt", f"{DIR}/tls.key", f"{DIR}/ca.crt")
        assert "CDSP_GRPC_TLS_CLIENT_CA" not in env
        assert env["CDSP_GRPC_HEALTH_ADDR"] == "0.0.0.0:8086"
        assert {p["name"]: p["containerPort"] for p in c["ports"]}["health"] == 8086
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            assert c[probe]["grpc"]["port"] == 8086, (svc, probe)  # native, not exec
        mount = next(m for m in c["volumeMounts"] if m["name"] == "grpc-tls")
        assert (mount["mountPath"], mount["readOnly"]) == (DIR, True)
        pod = get(docs, "Deployment", f"{RELEASE}-{svc}")["spec"]["template"]["spec"]
        volume = next(v for v in pod["volumes"] if v["name"] == "grpc-tls")
        assert volume["secret"] == {"secretName": f"{RELEASE}-{svc}-grpc-tls", "defaultMode": 0o440}
        # The health port is for the kubelet alone: neither the Service nor the policy opens it.
        service = get(docs, "Service", f"{RELEASE}-{svc}")
        assert 8086 not in {p["port"] for p in service["spec"]["ports"]}
        policy = get(docs, "NetworkPolicy", f"{RELEASE}-{svc}")
        assert 8086 not in {p["port"] for rule in policy["spec"]["ingress"]
                            for p in rule.get("ports", [])}


def test_mutual_tls_and_cert_manager_certificates() -> None:
    services = [{**e, "grpcTlsSecretName": "registry-cert"} if e["name"] == "registry" else e
                for e in services_of({}).values()]
    docs = render(merged(MUTUAL_CERT_MANAGER, {"services": services}))
    certificates = {d["spec"]["secretName"]: d for d in docs if d["kind"] == "Certificate"}
    for svc in SERVICES:
        env = env_of(docs, svc)
        assert env["CDSP_GRPC_TLS_CLIENT_CA"] == f"{DIR}/ca.crt"
        secret = "registry-cert" if svc == "registry" else f"{RELEASE}-{svc}-grpc-tls"
        pod = get(docs, "Deployment", f"{RELEASE}-{svc}")["spec"]["template"]["spec"]
        assert next(v for v in pod["volumes"] if v["name"] == "grpc-tls")["secret"][
            "secretName"] == secret
        cert = certificates[secret]["spec"]
        host = f"{RELEASE}-{svc}"
        assert cert["dnsNames"] == [host, f"{host}.{NAMESPACE}", f"{host}.{NAMESPACE}.svc",
                                    f"{host}.{NAMESPACE}.svc.cluster.local"]
        assert {"server auth", "client auth"} <= set(cert["usages"])
        assert cert["issuerRef"] == {"name": "cdsp-ca", "kind": "Issuer",
                                     "group": "cert-manager.io"}
        assert cert["privateKey"]["rotationPolicy"] == "Always"
    assert len(certificates) == len(SERVICES) + 1  # and the console's client certificate


@pytest.mark.parametrize("version", KUBE_VERSIONS)
def test_tls_manifests_satisfy_the_kubernetes_api_schemas(version: str) -> None:
    for values in (merged(VALUE_SETS["city"], TLS), MUTUAL_CERT_MANAGER):
        assert schema_problems(render(values), version) == []


def test_the_probe_check_catches_probes_left_on_the_tls_port() -> None:
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        docs = copy.deepcopy(render(TLS))
        assert problems_service_set(docs, "aid", 50052, 9102) == []
        container(docs, "aid")[probe]["grpc"]["port"] = 50052  # kubelet cannot do TLS
        assert problems_service_set(docs, "aid", 50052, 9102) != [], probe
    docs = copy.deepcopy(render(TLS))
    next(e for e in container(docs, "aid")["env"]
         if e["name"] == "CDSP_GRPC_HEALTH_ADDR")["value"] = "0.0.0.0:9999"
    assert problems_service_set(docs, "aid", 50052, 9102) != []  # probes a port nobody opens


@pytest.mark.parametrize(("values", "message"), [
    ({"grpcTls": {"enabled": True, "healthPort": 50053}}, "healthPort 50053 is its grpcPort"),
    ({"grpcTls": {"enabled": True, "certManager": {"enabled": True}}}, "issuerRef.name"),
    ({"grpcTls": {"certManager": {"enabled": True, "issuerRef": {"name": "x"}}}},
     "without grpcTls.enabled"),
    ({"grpcTls": {"clientAuth": True}}, "needs grpcTls.enabled"),
    ({"grpcTls": {"enabled": True, "mtls": True}}, "additional properties 'mtls' not allowed"),
])
def test_tls_values_that_cannot_work_are_refused(values: dict[str, Any], message: str) -> None:
    with pytest.raises(helm_python.HelmError, match=message):
        Chart.load(str(CHART)).render(merged(REQUIRED, values), name=RELEASE,
                                      namespace=NAMESPACE)


def test_compose_publishes_every_port_on_the_loopback_address_only() -> None:
    published = [(name, port) for name, svc in compose()["services"].items()
                 for port in svc.get("ports") or []]
    assert len(published) >= 12  # five services x (gRPC, metrics), Prometheus, Grafana
    for name, port in published:
        assert isinstance(port, str) and port.startswith("127.0.0.1:"), (name, port)
        assert port.count(":") == 2, (name, port)
    assert not [n for n, s in compose()["services"].items() if s.get("network_mode") == "host"]
