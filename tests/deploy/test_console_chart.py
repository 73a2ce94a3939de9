"""The worker console in the Helm chart (values `console`): rendered offline like the services'
objects (test_helm_chart.py). Its Deployment is hardened like theirs and probed over HTTP, its
Ingress serves one host over TLS only, its NetworkPolicy lets in the ingress controller (web
port) and Prometheus (metrics port) and lets out DNS, the services' gRPC ports and the identity
provider only, its session keys are read from a Secret the chart never carries, and the
environment it renders is one the console's own settings loader accepts."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

import helm_python
import pytest

from console.config import load_console_settings
from runtime.token_settings import load_token_settings
from tests.deploy.test_helm_chart import (
    CONSOLE_HOST,
    FIVE,
    IDENTITY,
    KUBE_VERSIONS,
    MONITORING_OFF,
    MONITORING_ON,
    RELEASE,
    VALUE_SETS,
    Doc,
    chart_render,
    find,
    get,
    merged,
    render,
    schema_problems,
    selects,
)

NAME = f"{RELEASE}-console"
HTTP, METRICS = 8080, 9109
SESSION_SECRET = {"name": "cdsp-console-session", "key": "keys"}
TLS_MUTUAL = {"grpcTls": {"enabled": True, "clientAuth": True, "certManager": {
    "enabled": True, "issuerRef": {"name": "cdsp-ca", "kind": "Issuer"}}}}


def container(docs: list[Doc]) -> Doc:
    c: Doc = get(docs, "Deployment", NAME)["spec"]["template"]["spec"]["containers"][0]
    return c


def env_of(docs: list[Doc]) -> dict[str, Doc]:
    return {e["name"]: e for e in container(docs)["env"]}


def pod_labels(docs: list[Doc]) -> dict[str, str]:
    labels: dict[str, str] = get(docs, "Deployment", NAME)["spec"]["template"]["metadata"][
        "labels"]
    return labels


# --- the checks: each returns what is wrong (empty: all good) ---------------------------------

def problems_console(docs: list[Doc]) -> list[str]:
    """Everything the console must have in a rendered release (monitoring as rendered)."""
    dep, service = find(docs, "Deployment", NAME), find(docs, "Service", NAME)
    if dep is None or service is None:
        return ["console: Deployment or Service missing"]
    found: list[str] = []
    spec = dep["spec"]["template"]["spec"]
    pods = dep["spec"]["template"]["metadata"]["labels"]
    [c] = spec["containers"]
    ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
    if ports != {"http": HTTP, "metrics": METRICS}:
        found.append(f"console: container ports {ports}")
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        get_ = (c.get(probe) or {}).get("httpGet") or {}
        if get_.get("path") != "/healthz" or ports.get(get_.get("port"), get_.get("port")) != HTTP:
            found.append(f"console: {probe} is not GET /healthz on the web port ({get_})")
    pod_sc, sc = spec.get("securityContext") or {}, c.get("securityContext") or {}
    if not (pod_sc.get("runAsNonRoot") or sc.get("runAsNonRoot")):
        found.append("console: runAsNonRoot is not set")
    if sc.get("allowPrivilegeEscalation") is not False:
        found.append("console: allowPrivilegeEscalation is not false")
    if sc.get("readOnlyRootFilesystem") is not True:
        found.append("console: readOnlyRootFilesystem is not true")
    if sc.get("capabilities", {}).get("drop") != ["ALL"] or sc.get("capabilities", {}).get(
            "add"):
        found.append("console: capabilities do not drop ALL")
    seccomp = (sc.get("seccompProfile") or pod_sc.get("seccompProfile") or {}).get("type")
    if seccomp != "RuntimeDefault":
        found.append(f"console: seccomp profile {seccomp!r}")
    if spec.get("automountServiceAccountToken") is not False:
        found.append("console: pod mounts a service account token")
    if spec.get("hostNetwork") or sc.get("privileged"):
        found.append("console: privileged or on the host's network")
    tmp = "/tmp"  # noqa: S108 (the mount path checked, not a file used)
    empty_dirs = {v["name"] for v in spec.get("volumes", []) if "emptyDir" in v}
    if not any(m["mountPath"] == tmp and m["name"] in empty_dirs
               for m in c.get("volumeMounts", [])):
        found.append("console: no emptyDir on /tmp")
    res = c.get("resources") or {}
    found += [f"console: resources.{part}.{what} missing" for part in ("requests", "limits")
              for what in ("cpu", "memory") if not res.get(part, {}).get(what)]
    if not selects(dep["spec"]["selector"]["matchLabels"], pods) or pods.get(
            "app.kubernetes.io/component") != "console":
        found.append("console: the Deployment's selector or labels are wrong")
    sa = find(docs, "ServiceAccount", NAME)
    if sa is None or sa.get("automountServiceAccountToken") is not False or spec.get(
            "serviceAccountName") != NAME:
        found.append("console: no ServiceAccount of its own without a token")
    if not selects(service["spec"]["selector"], pods):
        found.append("console: the Service does not select the pods")
    if {p["name"]: p["targetPort"] for p in service["spec"]["ports"]} != {
            "http": "http", "metrics": "metrics"}:
        found.append("console: the Service's ports")
    hpa, pdb = find(docs, "HorizontalPodAutoscaler", NAME), find(docs, "PodDisruptionBudget",
                                                                  NAME)
    if hpa is None or hpa["spec"]["scaleTargetRef"]["name"] != NAME:
        found.append("console: no HorizontalPodAutoscaler of its Deployment")
    if pdb is None or not selects(pdb["spec"]["selector"]["matchLabels"], pods):
        found.append("console: no PodDisruptionBudget of its pods")
    monitor = find(docs, "ServiceMonitor", NAME)
    if monitor is not None:
        relabel = [r for e in monitor["spec"]["endpoints"] for r in e.get("relabelings", [])]
        if not selects(monitor["spec"]["selector"]["matchLabels"],
                       service["metadata"]["labels"]) or [
                e["port"] for e in monitor["spec"]["endpoints"]] != ["metrics"] or {
                "action": "replace", "targetLabel": "part_of",
                "replacement": "cdsp"} not in relabel:
            found.append("console: the ServiceMonitor does not scrape its metrics as cdsp's")
    return found


def peers_and_ports(rules: list[Doc], direction: str) -> list[tuple[str, tuple[Any, ...]]]:
    """Each rule flattened to (peer as YAML-ish text, ports)."""
    out = []
    for rule in rules:
        ports = tuple(sorted((p.get("protocol", "TCP"), p["port"]) for p in rule.get("ports", [])))
        for peer in rule.get(direction, []) or [{"anywhere": True}]:
            out.append((repr(sorted(peer.items())), ports))
    return out


# --- the tests ---------------------------------------------------------------------------------

@pytest.mark.parametrize("values_name", VALUE_SETS)
@pytest.mark.parametrize("monitoring", ["on", "off"])
def test_the_console_has_a_complete_hardened_set(values_name: str, monitoring: str) -> None:
    docs = render(merged(VALUE_SETS[values_name],
                         MONITORING_ON if monitoring == "on" else MONITORING_OFF))
    assert problems_console(docs) == []
    assert (find(docs, "ServiceMonitor", NAME) is not None) == (monitoring == "on")
    assert not [d for d in docs if d["kind"] == "Secret"], "the chart must not carry Secrets"


CHECK_BREAKAGES: list[tuple[str, Callable[[list[Doc]], None]]] = [
    ("tcp probe", lambda d: container(d).update(readinessProbe={"tcpSocket": {"port": HTTP}})),
    ("probe path", lambda d: container(d)["livenessProbe"]["httpGet"].update(path="/")),
    ("root fs", lambda d: container(d)["securityContext"].update(readOnlyRootFilesystem=False)),
    ("caps", lambda d: container(d)["securityContext"].update(
        capabilities={"drop": ["ALL"], "add": ["NET_ADMIN"]})),
    ("escalation", lambda d: container(d)["securityContext"].pop("allowPrivilegeEscalation")),
    ("seccomp", lambda d: (container(d)["securityContext"].pop("seccompProfile"),
                           get(d, "Deployment", NAME)["spec"]["template"]["spec"][
                               "securityContext"].pop("seccompProfile"))),
    ("root", lambda d: (container(d)["securityContext"].pop("runAsNonRoot"),
                        get(d, "Deployment", NAME)["spec"]["template"]["spec"][
                            "securityContext"].pop("runAsNonRoot"))),
    ("limits", lambda d: container(d)["resources"].pop("limits")),
    ("token", lambda d: get(d, "Deployment", NAME)["spec"]["template"]["spec"].update(
        automountServiceAccountToken=True)),
    ("service selector", lambda d: get(d, "Service", NAME)["spec"]["selector"].update(
        {"app.kubernetes.io/component": "aid"})),
    ("monitor relabel", lambda d: get(d, "ServiceMonitor", NAME)["spec"]["endpoints"][0].pop(
        "relabelings")),
    ("no pdb", lambda d: d.remove(get(d, "PodDisruptionBudget", NAME))),
]


@pytest.mark.parametrize(("what", "mutate"), CHECK_BREAKAGES, ids=[w for w, _ in CHECK_BREAKAGES])
def test_the_console_checks_catch_broken_manifests(what: str,
                                                    mutate: Callable[[list[Doc]], None]) -> None:
    docs = copy.deepcopy(render(MONITORING_ON))
    assert problems_console(docs) == []
    mutate(docs)
    assert problems_console(docs) != [], what


def test_the_ingress_serves_one_host_over_tls_only() -> None:
    annotations = {"cert-manager.io/cluster-issuer": "city-public",
                   "nginx.ingress.kubernetes.io/proxy-body-size": "1m"}
    docs = render({"console": {"ingress": {"className": "nginx", "tlsSecretName": "console-cert",
                                           "annotations": annotations}}})
    ingress = get(docs, "Ingress", NAME)
    assert ingress["metadata"]["annotations"] == annotations
    spec = ingress["spec"]
    assert spec["ingressClassName"] == "nginx"
    assert spec["tls"] == [{"hosts": [CONSOLE_HOST], "secretName": "console-cert"}]
    assert "defaultBackend" not in spec
    [rule] = spec["rules"]
    assert rule["host"] == CONSOLE_HOST  # every host it answers is in the certificate's entry
    [path] = rule["http"]["paths"]
    assert (path["path"], path["pathType"]) == ("/", "Prefix")
    backend = path["backend"]["service"]
    service = get(docs, "Service", backend["name"])
    assert backend["port"]["name"] in {p["name"] for p in service["spec"]["ports"]}
    assert backend["port"]["name"] == "http"
    # Without a class the cluster's default class serves it; without annotations none are set.
    plain = get(render({}), "Ingress", NAME)
    assert "ingressClassName" not in plain["spec"] and "annotations" not in plain["metadata"]
    assert plain["spec"]["tls"] == [{"hosts": [CONSOLE_HOST], "secretName": "cdsp-console-tls"}]


def test_the_ingress_can_be_left_to_another_gateway_and_the_console_turned_off() -> None:
    docs = render({"console": {"ingress": {"enabled": False, "host": ""}}})
    assert find(docs, "Ingress", NAME) is None and problems_console(docs) == []
    docs = render({"console": {"enabled": False}, "identity": {"tokenUrl": ""}})
    assert not [d for d in docs if d["metadata"]["name"].startswith(NAME)]
    for svc in FIVE:  # and no service lets a console in
        policy = get(docs, "NetworkPolicy", f"{RELEASE}-{svc}")
        assert "console" not in repr(policy["spec"]["ingress"]), svc


def test_the_network_policy_allows_only_what_the_console_does() -> None:
    docs = render({})
    policy = get(docs, "NetworkPolicy", NAME)["spec"]
    assert selects(policy["podSelector"]["matchLabels"], pod_labels(docs))
    assert set(policy["policyTypes"]) == {"Ingress", "Egress"}
    ingress = peers_and_ports(policy["ingress"], "from")
    controller = {"namespaceSelector": {"matchLabels": {
        "kubernetes.io/metadata.name": "ingress-nginx"}}}
    monitoring = {"namespaceSelector": {"matchLabels": {
        "kubernetes.io/metadata.name": "monitoring"}}}
    assert sorted(ingress) == sorted([(repr(sorted(controller.items())), (("TCP", HTTP),)),
                                      (repr(sorted(monitoring.items())), (("TCP", METRICS),))])
    egress = policy["egress"]
    dns = [r for r in egress if {p["port"] for p in r["ports"]} == {53}]
    assert len(dns) == 1 and dns[0]["to"][0]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "kube-system"}
    grpc = {}
    for rule in egress:
        [peer] = rule["to"] if len(rule["to"]) == 1 else [None]
        if peer and "podSelector" in peer and "namespaceSelector" not in peer:
            [port] = rule["ports"]
            for svc in FIVE:
                labels = get(docs, "Deployment", f"{RELEASE}-{svc}")["spec"]["template"][
                    "metadata"]["labels"]
                if selects(peer["podSelector"]["matchLabels"], labels):
                    grpc[svc] = port["port"]
    assert grpc == FIVE  # each service's gRPC port, on its own pods only
    identity = [r for r in egress if r not in dns and "podSelector" not in r["to"][0]]
    assert identity == [{"to": [{"ipBlock": {"cidr": "10.0.0.0/8"}}],
                         "ports": [{"protocol": "TCP", "port": 443}]}]
    assert len(egress) == 1 + len(FIVE) + 1  # DNS, the five services, the identity provider
    every_port = {p["port"] for r in egress for p in r["ports"]}
    assert not every_port & {5432, 9092, 9093}  # no database, no broker


def test_each_service_lets_the_console_in_on_its_grpc_port_only() -> None:
    docs = render({})
    console_pods = pod_labels(docs)
    for svc, port in FIVE.items():
        rules = get(docs, "NetworkPolicy", f"{RELEASE}-{svc}")["spec"]["ingress"]
        ports = [{p["port"] for p in r["ports"]} for r in rules
                 if any(selects(peer.get("podSelector", {}).get("matchLabels", {}),
                                console_pods) for peer in r.get("from", []))]
        assert ports == [{port}], (svc, ports)
    docs = render({"console": {"calls": ["registry"]}})
    assert "component: console" not in repr(get(docs, "NetworkPolicy", f"{RELEASE}-aid"))
    egress = get(docs, "NetworkPolicy", NAME)["spec"]["egress"]
    assert [p["port"] for r in egress for p in r["ports"] if p["port"] in FIVE.values()] == [
        FIVE["registry"]]
    assert set(k for k in env_of(docs) if re.fullmatch(r"CDSP_[A-Z]+_ADDR", k)) == {
        "CDSP_CONSOLE_ADDR", "CDSP_METRICS_ADDR", "CDSP_REGISTRY_ADDR"}


def test_the_web_port_and_the_identity_provider_are_configurable() -> None:
    keycloak = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "keycloak"}}}
    gateway = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "gateway"}},
               "podSelector": {"matchLabels": {"app": "envoy"}}}
    docs = render({"console": {"networkPolicy": {"ingressFrom": [gateway],
                                                 "identityTo": [keycloak],
                                                 "identityPorts": [8080]}}})
    policy = get(docs, "NetworkPolicy", NAME)["spec"]
    assert {"ports": [{"protocol": "TCP", "port": HTTP}], "from": [gateway]} in policy["ingress"]
    assert {"to": [keycloak], "ports": [{"protocol": "TCP", "port": 8080}]} in policy["egress"]
    assert "ipBlock" not in repr(policy["egress"])
    docs = render({"identity": {"cidrs": ["10.40.0.0/16"], "ports": [8443]}})
    assert {"to": [{"ipBlock": {"cidr": "10.40.0.0/16"}}],
            "ports": [{"protocol": "TCP", "port": 8443}]} in get(
        docs, "NetworkPolicy", NAME)["spec"]["egress"]


@pytest.mark.parametrize("values_name", VALUE_SETS)
def test_the_session_keys_are_read_from_a_secret_never_inlined(values_name: str) -> None:
    docs = render(VALUE_SETS[values_name])
    keys = env_of(docs)["CDSP_CONSOLE_SESSION_KEYS"]
    assert "value" not in keys and keys["valueFrom"]["secretKeyRef"] == SESSION_SECRET
    assert not [d for d in docs if d["kind"] == "Secret"]
    for e in container(docs)["env"]:  # nothing that looks like a key, a password or a token
        value = e.get("value") or ""
        assert not re.search(r"[A-Za-z0-9+/]{40,}={0,2}", value), e
    docs = render({"console": {"sessionKeys": {"secretName": "console-keys", "key": "k"}}})
    assert env_of(docs)["CDSP_CONSOLE_SESSION_KEYS"]["valueFrom"]["secretKeyRef"] == {
        "name": "console-keys", "key": "k"}


@pytest.mark.parametrize("values_name", VALUE_SETS)
def test_the_rendered_environment_is_one_the_console_accepts(
        values_name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    docs = render(VALUE_SETS[values_name])
    env = {name: e["value"] for name, e in env_of(docs).items() if "value" in e}
    env["CDSP_CONSOLE_SESSION_KEYS"] = "s1:" + "A" * 43 + "="  # what the Secret holds
    settings = load_console_settings(env)
    assert settings.production and settings.cookie_secure
    assert settings.token_url.startswith("https://") and settings.addr == f"0.0.0.0:{HTTP}"
    assert settings.backends == {s: f"{RELEASE}-{s}:{p}" for s, p in FIVE.items()}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    tokens = load_token_settings("console", production=True)
    assert tokens.audience == "cdsp-console"
    assert tokens.jwks == merged(IDENTITY, VALUE_SETS[values_name])["identity"]["jwksUrl"]


def test_grpc_over_tls_gives_the_console_the_ca_and_with_mutual_tls_its_certificate() -> None:
    docs = render(TLS_MUTUAL)
    env = {k: e.get("value") for k, e in env_of(docs).items()}
    folder = "/etc/cdsp/grpc-tls"
    assert (env["CDSP_GRPC_TLS_CA"], env["CDSP_GRPC_TLS_CERT"], env["CDSP_GRPC_TLS_KEY"]) == (
        f"{folder}/ca.crt", f"{folder}/tls.crt", f"{folder}/tls.key")
    assert "CDSP_GRPC_TLS_CLIENT_CA" not in env  # it serves no gRPC
    pod = get(docs, "Deployment", NAME)["spec"]["template"]["spec"]
    mount = next(m for m in container(docs)["volumeMounts"] if m["name"] == "grpc-tls")
    assert (mount["mountPath"], mount["readOnly"]) == (folder, True)
    volume = next(v for v in pod["volumes"] if v["name"] == "grpc-tls")
    assert volume["secret"] == {"secretName": f"{NAME}-grpc-tls", "defaultMode": 0o440}
    cert = get(docs, "Certificate", f"{NAME}-grpc")["spec"]
    assert cert["secretName"] == f"{NAME}-grpc-tls" and "client auth" in cert["usages"]
    assert "server auth" not in cert["usages"]
    one_way = {k: e.get("value") for k, e in env_of(render({"grpcTls": {"enabled": True}})).items()}
    assert one_way["CDSP_GRPC_TLS_CA"] == f"{folder}/ca.crt"
    assert "CDSP_GRPC_TLS_CERT" not in one_way
    assert not {k for k in env_of(render({})) if k.startswith("CDSP_GRPC_TLS")}


@pytest.mark.parametrize("version", KUBE_VERSIONS)
def test_the_console_s_manifests_satisfy_the_kubernetes_api_schemas(version: str) -> None:
    for values in ({}, merged(VALUE_SETS["city"], MONITORING_ON, TLS_MUTUAL)):
        docs = [d for d in render(values) if d["metadata"]["name"].startswith(NAME)]
        assert {d["kind"] for d in docs} >= {"Deployment", "Service", "Ingress", "NetworkPolicy",
                                             "ServiceAccount", "HorizontalPodAutoscaler",
                                             "PodDisruptionBudget"}
        assert schema_problems(docs, version) == []


def test_the_pilot_and_the_city_size_the_console() -> None:
    pilot, city = render(VALUE_SETS["pilot"]), render(VALUE_SETS["city"])
    assert get(pilot, "HorizontalPodAutoscaler", NAME)["spec"]["maxReplicas"] == 1
    assert get(city, "HorizontalPodAutoscaler", NAME)["spec"]["minReplicas"] >= 2
    assert get(city, "Ingress", NAME)["spec"]["rules"][0]["host"] == VALUE_SETS["city"][
        "console"]["ingress"]["host"]
    spread = get(city, "Deployment", NAME)["spec"]["template"]["spec"][
        "topologySpreadConstraints"]
    assert {s["topologyKey"] for s in spread} == {"topology.kubernetes.io/zone",
                                                  "kubernetes.io/hostname"}


@pytest.mark.parametrize(("values", "message"), [
    ({"identity": {"tokenUrl": ""}}, "identity.tokenUrl is required with console.enabled"),
    ({"identity": {"tokenUrl": "http://id.example.org/token"}},
     "identity.tokenUrl must be an https URL in production"),
    ({"identity": {"revokeUrl": "http://id.example.org/revoke"}},
     "identity.revokeUrl must be an https URL in production"),
    ({"console": {"ingress": {"host": ""}}}, "console.ingress.host is required"),
    ({"console": {"ingress": {"tlsSecretName": ""}}}, "console.ingress.tlsSecretName is required"),
    ({"console": {"sessionKeys": {"secretName": ""}}}, "/console/sessionKeys/secretName"),
    ({"console": {"sessionTtlSeconds": 43200}, "identity": {"maxLifetimeSeconds": 3600}},
     "console.sessionTtlSeconds (43200) exceeds identity.maxLifetimeSeconds (3600)"),
    ({"console": {"calls": ["registry", "housing"]}}, 'console.calls names "housing"'),
    ({"console": {"metricsPort": HTTP}}, "console.port and console.metricsPort must differ"),
    ({"console": {"autoscaling": {"minReplicas": 5, "maxReplicas": 2}}},
     "console: autoscaling.minReplicas > maxReplicas"),
    ({"console": {"sessionKeys": {"secretName": "x", "key": "k", "value": "s1:AAAA"}}},
     "additional properties 'value' not allowed"),
    ({"console": {"ingress": {"host": "Console.Example.org/"}}}, "/console/ingress/host"),
    ({"console": {"replicaCount": 3}}, "additional properties 'replicaCount' not allowed"),
])
def test_console_values_that_cannot_work_are_refused(values: dict[str, Any],
                                                     message: str) -> None:
    with pytest.raises(helm_python.HelmError, match=re.escape(message)):
        chart_render(values)


def test_a_service_named_console_is_refused() -> None:
    from tests.deploy.test_helm_chart import values_file

    services = [*values_file("values.yaml")["services"],
                {"name": "console", "grpcPort": 50060, "metricsPort": 9110,
                 "audience": "cdsp-x"}]
    with pytest.raises(helm_python.HelmError, match='may not be named "console"'):
        chart_render({"services": services})
