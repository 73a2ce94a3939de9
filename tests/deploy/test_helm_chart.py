"""The Helm chart helm/cdsp, linted and rendered offline with helm-python-sdk (Helm's Go SDK; no
cluster, no helm binary). Every manifest is parsed, and what must hold for every service is
checked by the `problems_*` functions below; `test_checks_catch_broken_manifests` feeds them
broken manifests to show each check can fail."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import helm_python
import kubernetes_validate
import pytest
import yaml
from helm_python.chart import Chart

from runtime.server import LIVENESS

CHART = Path(__file__).resolve().parents[2] / "helm" / "cdsp"
RELEASE, NAMESPACE = "cdsp", "cdsp"
# The five platform services (the ones the console calls) and every service of values.yaml: the
# five and the partner gateway (services/partner), which the console does not call.
FIVE = {"registry": 50051, "aid": 50052, "employment": 50053, "volunteer": 50054,
        "notification": 50055}
SERVICES = {**FIVE, "partner": 50058}
METRICS_PORTS = {**{svc: port - 50051 + 9101 for svc, port in FIVE.items()}, "partner": 9108}
PARTNER_SECRETS = {"CDSP_PARTNER_KEYS"}
PRIVATE_RANGES = {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"}
RUNTIME_DEFAULT_GRACE_S = 20.0          # CDSP_SHUTDOWN_GRACE_S default (runtime/settings.py)
SECRET_SETTINGS = {"CDSP_DATABASE_URL", "CDSP_KAFKA_PASSWORD"}
# What the chart requires of every release (values.yaml leaves it empty): the identity provider
# (the console signs workers in at its token endpoint) and the name the console is opened at.
IDENTITY = {"identity": {"issuer": "https://id.example.org/realms/cdsp",
                         "jwksUrl": "https://id.example.org/realms/cdsp/protocol/openid-connect/"
                                    "certs",
                         "revocationsUrl": "https://id.example.org/cdsp/revocations.json",
                         "tokenUrl": "https://id.example.org/realms/cdsp/protocol/openid-connect/"
                                     "token"}}
CONSOLE_HOST = "console.example.org"
REQUIRED = {**IDENTITY, "console": {"ingress": {"host": CONSOLE_HOST}}}
TOKEN_SETTINGS = {"CDSP_TOKEN_ISSUER", "CDSP_TOKEN_JWKS", "CDSP_TOKEN_REVOCATIONS",
                  "CDSP_TOKEN_AUDIENCE", "CDSP_TOKEN_MAX_LIFETIME_S", "CDSP_TOKEN_CLAIM_ROLE",
                  "CDSP_TOKEN_CLAIM_JURISDICTIONS", "CDSP_TOKEN_CLAIM_PERSON",
                  "CDSP_TOKEN_CLAIM_WARDS"}
NOTIFICATION_SECRETS = {"CDSP_SMTP_PASSWORD", "CDSP_SMS_PROVIDER_KEY"}
MONITORING_ON = {"monitoring": {"serviceMonitor": {"enabled": True},
                                "prometheusRule": {"enabled": True}}}
MONITORING_OFF = {"monitoring": {"serviceMonitor": {"enabled": False},
                                 "prometheusRule": {"enabled": False}}}

Doc = dict[str, Any]


def values_file(name: str) -> dict[str, Any]:
    data = yaml.safe_load((CHART / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


VALUE_SETS = {"default": {}, "pilot": values_file("values-pilot.yaml"),
              "city": values_file("values-city.yaml")}


def merged(*layers: dict[str, Any]) -> dict[str, Any]:
    """Values layered like `-f a -f b` (maps merged, lists replaced)."""
    out: dict[str, Any] = {}
    for layer in layers:
        _merge(out, copy.deepcopy(layer))
    return out


def _merge(dst: dict[str, Any], src: dict[str, Any]) -> None:
    for key, value in src.items():
        if isinstance(value, dict) and isinstance(dst.get(key), dict):
            _merge(dst[key], value)
        else:
            dst[key] = value


_rendered: dict[str, list[Doc]] = {}


def chart_render(values: dict[str, Any]) -> dict[str, str]:
    """The chart rendered with `values` over what every release needs (REQUIRED)."""
    return Chart.load(str(CHART)).render(merged(REQUIRED, values), name=RELEASE,
                                         namespace=NAMESPACE)


def render(values: dict[str, Any]) -> list[Doc]:
    key = yaml.safe_dump(values, sort_keys=True)
    if key not in _rendered:
        files = chart_render(values)
        docs: list[Doc] = []
        for text in files.values():
            docs.extend(d for d in yaml.safe_load_all(text) if d)
        _rendered[key] = docs
    return _rendered[key]


def find(docs: list[Doc], kind: str, name: str) -> Doc | None:
    hits = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(hits) <= 1, f"{kind}/{name} rendered {len(hits)} times"
    return hits[0] if hits else None


def get(docs: list[Doc], kind: str, name: str) -> Doc:
    doc = find(docs, kind, name)
    assert doc is not None, f"{kind}/{name} is missing"
    return doc


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def services_of(values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    chart_values = values_file("values.yaml")
    entries = values.get("services", chart_values["services"])
    return {e["name"]: e for e in entries}


# --- the checks: each returns what is wrong (empty: all good) ---------------------------------

def problems_deployment(dep: Doc, svc: str, grpc_port: int) -> list[str]:
    found: list[str] = []
    spec = dep["spec"]["template"]["spec"]
    pod_labels = dep["spec"]["template"]["metadata"]["labels"]
    containers = spec["containers"]
    if len(containers) != 1:
        return [f"{svc}: expected one container, got {len(containers)}"]
    c = containers[0]
    ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
    if ports.get("grpc") != grpc_port:
        found.append(f"{svc}: grpc containerPort {ports.get('grpc')} != {grpc_port}")
    # With gRPC over TLS the probes ask the plaintext health-only port (kubelet cannot do TLS),
    # which the service must then open on that very port.
    probe_port = ports.get("health", grpc_port)
    env_values = {e["name"]: e.get("value") for e in c.get("env", [])}
    if "health" in ports and env_values.get("CDSP_GRPC_HEALTH_ADDR") != f"0.0.0.0:{probe_port}":
        found.append(f"{svc}: a health port {probe_port} the service does not open")
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        if (c.get(probe) or {}).get("grpc", {}).get("port") != probe_port:
            found.append(f"{svc}: {probe} is not a native grpc probe on {probe_port}")
    # Readiness follows the database; liveness must not (runtime.server.LIVENESS).
    if (c.get("readinessProbe") or {}).get("grpc", {}).get("service", "") != "":
        found.append(f"{svc}: readinessProbe does not ask for the whole server's health")
    if (c.get("livenessProbe") or {}).get("grpc", {}).get("service") != LIVENESS:
        found.append(f"{svc}: livenessProbe does not ask for {LIVENESS}")
    pod_sc, sc = spec.get("securityContext") or {}, c.get("securityContext") or {}
    if not (pod_sc.get("runAsNonRoot") or sc.get("runAsNonRoot")):
        found.append(f"{svc}: runAsNonRoot is not set")
    if sc.get("allowPrivilegeEscalation") is not False:
        found.append(f"{svc}: allowPrivilegeEscalation is not false")
    if sc.get("readOnlyRootFilesystem") is not True:
        found.append(f"{svc}: readOnlyRootFilesystem is not true")
    if sc.get("capabilities", {}).get("drop") != ["ALL"]:
        found.append(f"{svc}: capabilities do not drop ALL")
    seccomp = (sc.get("seccompProfile") or pod_sc.get("seccompProfile") or {}).get("type")
    if seccomp != "RuntimeDefault":
        found.append(f"{svc}: seccomp profile {seccomp!r}")
    tmp_volumes = {v["name"] for v in spec.get("volumes", []) if "emptyDir" in v}
    tmp = "/tmp"  # noqa: S108 (the mount path checked, not a file used)
    if not any(m["mountPath"] == tmp and m["name"] in tmp_volumes
               for m in c.get("volumeMounts", [])):
        found.append(f"{svc}: no emptyDir on /tmp")
    res = c.get("resources") or {}
    for part in ("requests", "limits"):
        for what in ("cpu", "memory"):
            if not res.get(part, {}).get(what):
                found.append(f"{svc}: resources.{part}.{what} missing")
    if spec.get("automountServiceAccountToken") is not False:
        found.append(f"{svc}: pod mounts a service account token")
    found += problems_env(c.get("env", []), svc)
    env = {e["name"]: e.get("value") for e in c.get("env", [])}
    grace = float(env.get("CDSP_SHUTDOWN_GRACE_S") or RUNTIME_DEFAULT_GRACE_S)
    if not spec.get("terminationGracePeriodSeconds", 30) > grace:
        found.append(f"{svc}: terminationGracePeriodSeconds "
                     f"{spec.get('terminationGracePeriodSeconds')} <= {grace}")
    for key, value in {"app.kubernetes.io/component": svc, "app.kubernetes.io/part-of": "cdsp",
                       "app.kubernetes.io/instance": RELEASE,
                       "app.kubernetes.io/name": "cdsp"}.items():
        if pod_labels.get(key) != value:
            found.append(f"{svc}: pod label {key}={pod_labels.get(key)!r}")
    if not selects(dep["spec"]["selector"]["matchLabels"], pod_labels):
        found.append(f"{svc}: the Deployment's selector does not select its pods")
    return found


def problems_env(env: list[Doc], svc: str) -> list[str]:
    found: list[str] = []
    by_name = {e["name"]: e for e in env}
    needed = {"CDSP_DATABASE_URL", *TOKEN_SETTINGS}
    if svc == "notification":
        needed |= NOTIFICATION_SECRETS
    if svc == "partner":
        needed |= PARTNER_SECRETS
    for name in needed:
        if name not in by_name:
            found.append(f"{svc}: {name} is not set")
    for e in env:
        value = e.get("value")
        if e["name"] in SECRET_SETTINGS | NOTIFICATION_SECRETS | PARTNER_SECRETS:
            ref = (e.get("valueFrom") or {}).get("secretKeyRef") or {}
            if value is not None or not (ref.get("name") and ref.get("key")):
                found.append(f"{svc}: {e['name']} is not taken from a Secret")
        if isinstance(value, str) and ("password" in value.lower() or "PRIVATE KEY" in value
                                       or '"d":' in value):
            found.append(f"{svc}: {e['name']} has a literal secret value")
        if e["name"] in ("CDSP_TOKEN_JWKS", "CDSP_TOKEN_REVOCATIONS") and not (
                isinstance(value, str) and value.startswith("https://")):
            found.append(f"{svc}: {e['name']} is not an https URL of the identity provider")
        if e["name"] == "CDSP_TOKEN_AUDIENCE" and not value:
            found.append(f"{svc}: no token audience")
    return found


def problems_migration(job: Doc | None, svc: str, dep: Doc, service: Doc,
                       owner_secret: str | None = None) -> list[str]:
    """owner_secret: the Secret the Job must use when the service has two roles (else the
    service's own)."""
    if job is None:
        return [f"{svc}: no migration Job"]
    found: list[str] = []
    hooks = set(job["metadata"].get("annotations", {}).get("helm.sh/hook", "").split(","))
    if not {"pre-install", "pre-upgrade"} <= hooks:
        found.append(f"{svc}: migration Job hooks {sorted(hooks)}")
    c = job["spec"]["template"]["spec"]["containers"][0]
    command = [*c.get("command", []), *c.get("args", [])]
    if command[-3:] != ["-m", "runtime.migrate_cli", svc]:
        found.append(f"{svc}: migration Job runs {command}")
    job_db = next((e for e in c.get("env", []) if e["name"] == "CDSP_DATABASE_URL"), {})
    dep_db = next(e for e in dep["spec"]["template"]["spec"]["containers"][0]["env"]
                  if e["name"] == "CDSP_DATABASE_URL")
    job_ref = (job_db.get("valueFrom") or {}).get("secretKeyRef") or {}
    if "value" in job_db or not job_ref.get("key"):
        found.append(f"{svc}: migration Job's database is not from a Secret")
    elif owner_secret is None and job_db.get("valueFrom") != dep_db.get("valueFrom"):
        found.append(f"{svc}: migration Job's database is not the service's Secret")
    elif owner_secret is not None and job_ref.get("name") != owner_secret:
        found.append(f"{svc}: migration Job does not connect as the owner ({job_ref})")
    job_env = {e["name"]: e.get("value") for e in c.get("env", [])}
    if (owner_secret is not None) != bool(job_env.get("CDSP_DB_APP_ROLE")):
        found.append(f"{svc}: CDSP_DB_APP_ROLE {job_env.get('CDSP_DB_APP_ROLE')!r} with owner "
                     f"Secret {owner_secret!r}")
    dep_env = {e["name"]: e.get("value")
               for e in dep["spec"]["template"]["spec"]["containers"][0]["env"]}
    if dep_env.get("CDSP_MIGRATE_ON_START") != "false":
        found.append(f"{svc}: the service migrates at start-up although the Job does")
    sc = c.get("securityContext") or {}
    if sc.get("readOnlyRootFilesystem") is not True or sc.get("allowPrivilegeEscalation"):
        found.append(f"{svc}: migration Job is not hardened")
    if selects(service["spec"]["selector"], job["spec"]["template"]["metadata"]["labels"]):
        found.append(f"{svc}: the Service would route calls to the migration pod")
    return found


def problems_selection(svc: str, grpc_port: int, metrics_port: int, dep: Doc, service: Doc,
                       netpol: Doc | None, monitor: Doc | None, hpa: Doc | None,
                       pdb: Doc | None) -> list[str]:
    found: list[str] = []
    pods = dep["spec"]["template"]["metadata"]["labels"]
    if not selects(service["spec"]["selector"], pods):
        found.append(f"{svc}: the Service does not select the pods")
    if {p["name"]: p["port"] for p in service["spec"]["ports"]}.get("grpc") != grpc_port:
        found.append(f"{svc}: the Service has no grpc port {grpc_port}")
    if netpol is None:
        found.append(f"{svc}: no NetworkPolicy")
    else:
        if not selects(netpol["spec"]["podSelector"]["matchLabels"], pods):
            found.append(f"{svc}: the NetworkPolicy does not select the pods")
        ingress_ports = {p["port"] for rule in netpol["spec"].get("ingress", [])
                         for p in rule.get("ports", [])}
        if not {grpc_port, metrics_port} <= ingress_ports:
            found.append(f"{svc}: NetworkPolicy ingress ports {sorted(ingress_ports)}")
        egress_ports = {p["port"] for rule in netpol["spec"].get("egress", [])
                        for p in rule.get("ports", [])}
        if not {53, 5432} <= egress_ports:
            found.append(f"{svc}: NetworkPolicy egress ports {sorted(egress_ports)}")
        if set(netpol["spec"].get("policyTypes", [])) != {"Ingress", "Egress"}:
            found.append(f"{svc}: NetworkPolicy does not restrict both directions")
    if monitor is not None:
        if not selects(monitor["spec"]["selector"]["matchLabels"],
                       service["metadata"]["labels"]):
            found.append(f"{svc}: the ServiceMonitor does not select the Service")
        if [e.get("port") for e in monitor["spec"]["endpoints"]] != ["metrics"]:
            found.append(f"{svc}: the ServiceMonitor does not scrape the metrics port")
        relabel = [r for e in monitor["spec"]["endpoints"] for r in e.get("relabelings", [])]
        if {"action": "replace", "targetLabel": "part_of", "replacement": "cdsp"} not in relabel:
            found.append(f"{svc}: the ServiceMonitor does not label targets part_of=cdsp")
    if hpa is None:
        found.append(f"{svc}: no HorizontalPodAutoscaler")
    elif hpa["spec"]["scaleTargetRef"]["name"] != dep["metadata"]["name"]:
        found.append(f"{svc}: the HPA scales {hpa['spec']['scaleTargetRef']['name']}")
    if pdb is None:
        found.append(f"{svc}: no PodDisruptionBudget")
    elif not selects(pdb["spec"]["selector"]["matchLabels"], pods):
        found.append(f"{svc}: the PodDisruptionBudget does not select the pods")
    return found


def problems_service_set(docs: list[Doc], svc: str, grpc_port: int,
                         metrics_port: int, owner_secret: str | None = None) -> list[str]:
    """Everything one service must have in a rendered release."""
    name = f"{RELEASE}-{svc}"
    dep, service = find(docs, "Deployment", name), find(docs, "Service", name)
    if dep is None or service is None:
        return [f"{svc}: Deployment or Service missing"]
    found = problems_deployment(dep, svc, grpc_port)
    sa = find(docs, "ServiceAccount", name)
    if sa is None or sa.get("automountServiceAccountToken") is not False:
        found.append(f"{svc}: no ServiceAccount without a token")
    elif dep["spec"]["template"]["spec"].get("serviceAccountName") != name:
        found.append(f"{svc}: the pods do not use the service's ServiceAccount")
    found += problems_migration(find(docs, "Job", f"{RELEASE}-{svc}-migration"), svc, dep,
                                service, owner_secret)
    found += problems_selection(svc, grpc_port, metrics_port, dep, service,
                                find(docs, "NetworkPolicy", name),
                                find(docs, "ServiceMonitor", name),
                                find(docs, "HorizontalPodAutoscaler", name),
                                find(docs, "PodDisruptionBudget", name))
    return found


# --- the tests ---------------------------------------------------------------------------------

@pytest.mark.parametrize("values_name", VALUE_SETS)
def test_lint_passes(values_name: str) -> None:
    for values in (VALUE_SETS[values_name], merged(VALUE_SETS[values_name], MONITORING_ON)):
        report = helm_python.lint(str(CHART), merged(REQUIRED, values), strict=True)
        errors = [m for m in report["messages"] if m["severity"] >= 2]
        assert report["errors"] == [] and errors == [], report


@pytest.mark.parametrize("values_name", VALUE_SETS)
@pytest.mark.parametrize("monitoring", ["on", "off"])
def test_every_service_has_a_complete_hardened_set(values_name: str, monitoring: str) -> None:
    values = merged(VALUE_SETS[values_name],
                    MONITORING_ON if monitoring == "on" else MONITORING_OFF)
    docs = render(values)
    services = services_of(values)
    assert set(SERVICES) <= set(services)
    for svc, entry in services.items():
        assert entry["grpcPort"] == SERVICES.get(svc, entry["grpcPort"])
        assert entry["metricsPort"] == METRICS_PORTS.get(svc, entry["metricsPort"])
        owner = (entry.get("database") or {}).get("migrationSecretName")
        assert problems_service_set(docs, svc, entry["grpcPort"], entry["metricsPort"],
                                    owner_secret=owner) == []
    assert not [d for d in docs if d["kind"] == "Secret"], "the chart must not carry Secrets"
    audiences = [e["value"] for d in docs if d["kind"] == "Deployment"
                 for e in _container(d)["env"] if e["name"] == "CDSP_TOKEN_AUDIENCE"]
    # One deployable's tokens only: each service's and the console's audience of its own.
    assert len(audiences) == len(services) + 1 == len(set(audiences))
    assert "cdsp-console" in audiences
    monitors = {d["metadata"]["name"] for d in docs if d["kind"] == "ServiceMonitor"}
    rules = [d for d in docs if d["kind"] == "PrometheusRule"]
    if monitoring == "on":
        assert monitors == {f"{RELEASE}-{s}" for s in (*services, "console")}
        assert len(rules) == 1 and rules[0]["spec"]["groups"]
        assert all(r.get("expr") for g in rules[0]["spec"]["groups"] for r in g["rules"])
    else:
        assert monitors == set() and rules == []


def _internet(egress: list[Doc]) -> list[Doc]:
    """The egress rules that open the internet (0.0.0.0/0, however narrowed by `except`)."""
    return [rule for rule in egress
            if any(peer.get("ipBlock", {}).get("cidr") == "0.0.0.0/0" for peer in rule["to"])]


@pytest.mark.parametrize("values_name", VALUE_SETS)
def test_notification_and_partner_may_reach_their_senders_and_nothing_else_may(
        values_name: str) -> None:
    docs = render(VALUE_SETS[values_name])
    values = merged(values_file("values.yaml"), VALUE_SETS[values_name])
    # DNS, PostgreSQL, Kafka and the identity provider (443).
    base = {53, values["postgresql"]["port"], *values["kafka"]["ports"],
            *values["identity"]["ports"]}
    egress = {svc: get(docs, "NetworkPolicy", f"{RELEASE}-{svc}")["spec"]["egress"]
              for svc in SERVICES}
    ports = {svc: {p["port"] for rule in rules for p in rule.get("ports", [])}
             for svc, rules in egress.items()}
    assert {587, 443} <= ports["notification"]
    # The partner gateway's webhooks: HTTPS to the internet, never into the private ranges
    # (the cluster, the databases, the brokers, the cloud's metadata address).
    assert ports["partner"] == base | {443}
    for svc in ("notification", "partner"):
        webhooks = _internet(egress[svc])
        assert webhooks, svc
        for rule in webhooks:
            assert [p["port"] for p in rule["ports"]] == [443], svc
            for peer in rule["to"]:
                assert set(peer["ipBlock"]["except"]) >= PRIVATE_RANGES, svc
    for svc in set(SERVICES) - {"notification", "partner"}:
        assert ports[svc] == base, svc
        assert _internet(egress[svc]) == [], svc


def test_every_service_reaches_the_identity_provider_and_the_migration_step_does_not() -> None:
    docs = render({"identity": {"cidrs": ["10.40.0.0/16"], "ports": [8443]}})
    for svc in SERVICES:
        egress = get(docs, "NetworkPolicy", f"{RELEASE}-{svc}")["spec"]["egress"]
        assert {"to": [{"ipBlock": {"cidr": "10.40.0.0/16"}}],
                "ports": [{"protocol": "TCP", "port": 8443}]} in egress, svc
    migrations = [d for d in docs if d["kind"] == "NetworkPolicy"
                  and "cdsp.io/migration" in d["spec"]["podSelector"]["matchLabels"]]
    assert migrations and all(
        8443 not in {p["port"] for rule in d["spec"]["egress"] for p in rule.get("ports", [])}
        for d in migrations)


def test_the_identity_provider_reaches_every_service_s_environment() -> None:
    claims = {"role": "cdsp_role", "jurisdictions": "cdsp_jur", "person": "person_id",
              "wards": "ward_ids"}
    docs = render({"identity": {"maxLifetimeSeconds": 3600, "claims": claims},
                   "console": {"sessionTtlSeconds": 3600}})
    for svc in SERVICES:
        env = {e["name"]: e.get("value") for e in _container(get(
            docs, "Deployment", f"{RELEASE}-{svc}"))["env"]}
        identity = IDENTITY["identity"]
        assert {k: env[k] for k in TOKEN_SETTINGS} == {
            "CDSP_TOKEN_ISSUER": identity["issuer"], "CDSP_TOKEN_JWKS": identity["jwksUrl"],
            "CDSP_TOKEN_REVOCATIONS": identity["revocationsUrl"],
            "CDSP_TOKEN_AUDIENCE": f"cdsp-{svc}", "CDSP_TOKEN_MAX_LIFETIME_S": "3600",
            "CDSP_TOKEN_CLAIM_ROLE": "cdsp_role", "CDSP_TOKEN_CLAIM_JURISDICTIONS": "cdsp_jur",
            "CDSP_TOKEN_CLAIM_PERSON": "person_id", "CDSP_TOKEN_CLAIM_WARDS": "ward_ids"}
        assert "CDSP_TOKEN_SECRET" not in env  # no signing key anywhere near the services


@pytest.mark.parametrize(("identity", "message"), [
    ({"issuer": ""}, "identity.issuer is required"),
    ({"jwksUrl": ""}, "identity.jwksUrl is required: the https URL of the identity provider's "
                      "public keys"),
    ({"revocationsUrl": ""}, "identity.revocationsUrl is required"),
    ({"jwksUrl": "http://id.example.org/certs"}, "identity.jwksUrl must be an https URL in "
                                                 "production"),
    ({"revocationsUrl": "http://id.example.org/r.json"}, "identity.revocationsUrl must be an "
                                                         "https URL"),
    ({"jwksUrl": "/etc/cdsp/jwks.json"}, "/identity/jwksUrl"),
    ({"maxLifetimeSeconds": 30}, "/identity/maxLifetimeSeconds"),
    ({"claims": {"role": ""}}, "/identity/claims/role"),
    ({"secretName": "cdsp-token"}, "additional properties 'secretName' not allowed"),
])
def test_identity_values_that_cannot_work_are_refused(identity: dict[str, Any],
                                                      message: str) -> None:
    with pytest.raises(helm_python.HelmError, match=re.escape(message)):
        chart_render({"identity": identity})


def test_development_may_read_the_identity_provider_over_plain_http() -> None:
    docs = render({"common": {"env": "development"},
                   "identity": {"jwksUrl": "http://issuer.dev.svc:18090/jwks.json"}})
    env = {e["name"]: e.get("value") for e in _container(get(
        docs, "Deployment", f"{RELEASE}-aid"))["env"]}
    assert env["CDSP_TOKEN_JWKS"] == "http://issuer.dev.svc:18090/jwks.json"


def test_each_service_names_its_own_audience() -> None:
    services = values_file("values.yaml")["services"]
    assert [e["audience"] for e in services] == [f"cdsp-{s}" for s in SERVICES]
    without = [{k: v for k, v in services[0].items() if k != "audience"}]
    with pytest.raises(helm_python.HelmError, match="missing property 'audience'"):
        chart_render({"services": without})


def test_no_service_calls_another_until_values_say_so() -> None:
    def caller_components(docs: list[Doc], svc: str) -> set[str]:
        netpol = get(docs, "NetworkPolicy", f"{RELEASE}-{svc}")
        return {peer["podSelector"]["matchLabels"]["app.kubernetes.io/component"]
                for rule in netpol["spec"]["ingress"] for peer in rule.get("from", [])
                if "app.kubernetes.io/component" in
                peer.get("podSelector", {}).get("matchLabels", {})}

    docs = render({})
    # The console calls the five services (tests/deploy/test_console_chart.py), not the partner
    # gateway; no service calls another.
    assert all(caller_components(docs, svc) == {"console"} for svc in FIVE)
    assert caller_components(docs, "partner") == set()
    services = values_file("values.yaml")["services"]
    for entry in services:
        if entry["name"] == "registry":
            entry["allowedCallers"] = ["aid"]
    docs = render({"services": services})
    assert caller_components(docs, "registry") == {"aid", "console"}
    aid_pods = get(docs, "Deployment", f"{RELEASE}-aid")["spec"]["template"]["metadata"]
    registry_np = get(docs, "NetworkPolicy", f"{RELEASE}-registry")
    peers = [peer["podSelector"]["matchLabels"] for rule in registry_np["spec"]["ingress"]
             for peer in rule.get("from", []) if "podSelector" in peer]
    assert any(selects(p, aid_pods["labels"]) for p in peers)


def test_a_sixth_service_is_a_few_lines_of_values() -> None:
    services = [*values_file("values.yaml")["services"],
                {"name": "housing", "grpcPort": 50056, "metricsPort": 9106,
                 "audience": "cdsp-housing"}]
    values = merged({"services": services}, MONITORING_ON)
    docs = render(values)
    assert problems_service_set(docs, "housing", 50056, 9106) == []
    for svc, port in SERVICES.items():
        assert problems_service_set(docs, svc, port, METRICS_PORTS[svc]) == []
    image = get(docs, "Deployment", f"{RELEASE}-housing")["spec"]["template"]["spec"][
        "containers"][0]["image"]
    assert image.startswith("cdsp/housing:")


def test_secrets_settings_come_from_named_secrets() -> None:
    values = {"kafka": {"securityProtocol": "SASL_SSL",
                        "credentials": {"secretName": "kafka-creds"}}}
    docs = render(values)
    for svc in SERVICES:
        env = {e["name"]: e for e in get(docs, "Deployment", f"{RELEASE}-{svc}")
               ["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert env["CDSP_KAFKA_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "kafka-creds"
        assert env["CDSP_DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {
            "name": f"cdsp-{svc}-db", "key": "url"}
        assert problems_env(list(env.values()), svc) == []


def test_two_database_roles_the_job_as_owner_the_service_as_app() -> None:
    services = values_file("values.yaml")["services"]
    for entry in services:
        entry["database"] = {"migrationSecretName": f"cdsp-{entry['name']}-db-owner",
                             "appRole": f"cdsp_{entry['name']}_app"}
    docs = render({"services": services})
    for svc, port in SERVICES.items():
        assert problems_service_set(docs, svc, port, METRICS_PORTS[svc],
                                    owner_secret=f"cdsp-{svc}-db-owner") == []
        job = _container(get(docs, "Job", f"{RELEASE}-{svc}-migration"))
        env = {e["name"]: e for e in job["env"]}
        assert env["CDSP_DB_APP_ROLE"]["value"] == f"cdsp_{svc}_app"
        dep_env = {e["name"]: e for e in _container(get(docs, "Deployment", f"{RELEASE}-{svc}"))
                   ["env"]}
        assert dep_env["CDSP_DATABASE_URL"]["valueFrom"]["secretKeyRef"]["name"] == (
            f"cdsp-{svc}-db")
    one_role = render({})
    assert problems_service_set(one_role, "aid", 50052, 9102,
                                owner_secret="cdsp-aid-db-owner") != []
    half = [{**services[0], "database": {"migrationSecretName": "owner"}}]
    with pytest.raises(helm_python.HelmError, match=r"needs database\.appRole"):
        chart_render({"services": half})
    half = [{**services[0], "database": {"appRole": "app"}}]
    with pytest.raises(helm_python.HelmError, match=r"needs database\.migrationSecretName"):
        chart_render({"services": half})


def test_without_the_migration_job_the_service_migrates_itself() -> None:
    docs = render({"serviceDefaults": {"migration": {"enabled": False}}})
    assert [d for d in docs if d["kind"] == "Job"] == []
    env = {e["name"]: e.get("value") for e in _container(get(docs, "Deployment",
                                                             f"{RELEASE}-aid"))["env"]}
    assert env["CDSP_MIGRATE_ON_START"] == "true"


def test_kafka_over_sasl_ssl_with_a_ca_from_a_secret() -> None:
    values = {"kafka": {"securityProtocol": "SASL_SSL", "saslMechanism": "SCRAM-SHA-256",
                        "credentials": {"secretName": "kafka-creds"},
                        "tls": {"caSecretName": "kafka-ca", "caKey": "ca.crt"}}}
    docs = render(values)
    for svc in SERVICES:
        pod = get(docs, "Deployment", f"{RELEASE}-{svc}")["spec"]["template"]["spec"]
        env = {e["name"]: e for e in pod["containers"][0]["env"]}
        assert env["CDSP_KAFKA_SECURITY_PROTOCOL"]["value"] == "SASL_SSL"
        assert env["CDSP_KAFKA_SASL_MECHANISM"]["value"] == "SCRAM-SHA-256"
        assert env["CDSP_KAFKA_USERNAME"]["valueFrom"]["secretKeyRef"]["name"] == "kafka-creds"
        ca_file = env["CDSP_KAFKA_CA_FILE"]["value"]
        mount = next(m for m in pod["containers"][0]["volumeMounts"] if m["name"] == "kafka-ca")
        assert ca_file == f"{mount['mountPath']}/ca.crt" and mount["readOnly"] is True
        volume = next(v for v in pod["volumes"] if v["name"] == "kafka-ca")
        assert volume["secret"]["secretName"] == "kafka-ca"
        assert problems_env(list(env.values()), svc) == []
    plain = {e["name"]: e for e in get(render({}), "Deployment", f"{RELEASE}-aid")
             ["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert plain["CDSP_KAFKA_SECURITY_PROTOCOL"]["value"] == "PLAINTEXT"
    assert not {"CDSP_KAFKA_USERNAME", "CDSP_KAFKA_CA_FILE", "CDSP_KAFKA_SASL_MECHANISM"} & set(
        plain)


@pytest.mark.parametrize(("kafka", "message"), [
    ({"securityProtocol": "TLS"}, "/kafka/securityProtocol': value must be one of"),
    ({"securityProtocol": "SASL_SSL"}, "kafka.credentials.secretName is required"),
    ({"credentials": {"secretName": "kafka-creds"}}, "sends no credentials"),
    ({"tls": {"caSecretName": "kafka-ca"}}, "uses no TLS"),
])
def test_kafka_security_values_that_cannot_work_are_refused(kafka: dict[str, Any],
                                                             message: str) -> None:
    with pytest.raises(helm_python.HelmError, match=message):
        chart_render({"kafka": kafka})


@pytest.mark.parametrize("common", [
    {"shutdownGraceSeconds": 20, "terminationGracePeriodSeconds": 20},
    {"shutdownGraceSeconds": 40, "terminationGracePeriodSeconds": 44, "preStopSleepSeconds": 5},
])
def test_a_grace_period_shorter_than_the_drain_is_refused(common: dict[str, int]) -> None:
    with pytest.raises(helm_python.HelmError, match="terminationGracePeriodSeconds"):
        chart_render({"common": common})


def test_bad_service_lists_are_refused() -> None:
    base = values_file("values.yaml")["services"]
    for services, message in (
            ([*base, base[0]], "listed twice"),
            ([*base, {"name": "x", "grpcPort": 1, "audience": "x"}],
             "missing property 'metricsPort'"),
            ([{**base[0], "allowedCallers": ["nobody"]}], "allowedCallers")):
        with pytest.raises(helm_python.HelmError, match=message):
            chart_render({"services": services})


@pytest.mark.parametrize(("values", "message"), [
    ({"comon": {"logLevel": "DEBUG"}}, "additional properties 'comon' not allowed"),
    ({"services": [{"name": "aid", "grpcPort": 50052, "metricsPort": 9102,
                    "replicaCount": 3}]}, "additional properties 'replicaCount' not allowed"),
    ({"serviceDefaults": {"autoscaling": {"maxReplica": 9}}}, "'maxReplica' not allowed"),
    ({"postgresql": {"cidrs": ["10.0.0.0"]}}, "/postgresql/cidrs/0"),
    ({"common": {"logLevel": "LOUD"}}, "/common/logLevel': value must be one of"),
    ({"services": [{"name": "Aid-2", "grpcPort": 1, "metricsPort": 2}]}, "/services/0/name"),
    ({"services": [{"name": "aid", "grpcPort": 70000, "metricsPort": 2}]}, "/services/0/grpcPort"),
    ({"services": [{"name": "aid", "grpcPort": 1, "metricsPort": 2,
                    "env": {"cdsp-x": "1"}}]}, "invalid propertyName 'cdsp-x'"),
])
def test_the_values_schema_refuses_what_would_be_ignored_or_broken(values: dict[str, Any],
                                                                   message: str) -> None:
    """values.schema.json: a misspelt key is an error naming it, not a silent default."""
    with pytest.raises(helm_python.HelmError, match=re.escape(message)):
        chart_render(values)


def _container(d: Doc) -> Doc:
    c: Doc = d["spec"]["template"]["spec"]["containers"][0]
    return c


BREAKAGES: list[tuple[str, str, Callable[[Doc], None]]] = [
    ("Deployment", "readiness probe", lambda d: _container(d).pop("readinessProbe")),
    ("Deployment", "liveness tcp", lambda d: _container(d).update(
        livenessProbe={"tcpSocket": {"port": 50055}})),
    ("Deployment", "liveness on the database", lambda d: _container(d)["livenessProbe"][
        "grpc"].pop("service")),
    ("Deployment", "root fs", lambda d: _container(d)["securityContext"].update(
        readOnlyRootFilesystem=False)),
    ("Deployment", "caps", lambda d: _container(d)["securityContext"].update(
        capabilities={"drop": ["NET_RAW"]})),
    ("Deployment", "escalation", lambda d: _container(d)["securityContext"].pop(
        "allowPrivilegeEscalation")),
    ("Deployment", "seccomp", lambda d: (_container(d)["securityContext"].pop("seccompProfile"),
                                         d["spec"]["template"]["spec"]["securityContext"].pop(
                                             "seccompProfile"))),
    ("Deployment", "root", lambda d: (_container(d)["securityContext"].pop("runAsNonRoot"),
                                      d["spec"]["template"]["spec"]["securityContext"].pop(
                                          "runAsNonRoot"))),
    ("Deployment", "limits", lambda d: _container(d)["resources"].pop("limits")),
    ("Deployment", "tmp", lambda d: _container(d).pop("volumeMounts")),
    ("Deployment", "grace", lambda d: d["spec"]["template"]["spec"].update(
        terminationGracePeriodSeconds=20)),
    ("Deployment", "literal password", lambda d: _container(d)["env"].append(
        {"name": "CDSP_SMTP_PASSWORD", "value": "hunter2"})),
    ("Deployment", "literal url", lambda d: _container(d)["env"].append(
        {"name": "CDSP_X", "value": "postgresql://u:password@db/x"})),
    ("Deployment", "private key", lambda d: _container(d)["env"].append(
        {"name": "CDSP_Y", "value": "-----BEGIN PRIVATE KEY-----\nMC4CAQAw..."})),
    ("Deployment", "jwks file", lambda d: [e.update(value="/etc/cdsp/jwks.json") for e in
                                           _container(d)["env"]
                                           if e["name"] == "CDSP_TOKEN_JWKS"]),
    ("Deployment", "no audience", lambda d: _container(d).update(env=[
        e for e in _container(d)["env"] if e["name"] != "CDSP_TOKEN_AUDIENCE"])),
    ("Deployment", "labels", lambda d: d["spec"]["template"]["metadata"]["labels"].update(
        {"app.kubernetes.io/component": "other"})),
    ("Deployment", "token", lambda d: d["spec"]["template"]["spec"].update(
        automountServiceAccountToken=True)),
    ("NetworkPolicy", "selector", lambda d: d["spec"]["podSelector"]["matchLabels"].update(
        {"app.kubernetes.io/component": "aid"})),
    ("NetworkPolicy", "no egress", lambda d: d["spec"].update(policyTypes=["Ingress"])),
    ("ServiceMonitor", "selector", lambda d: d["spec"]["selector"]["matchLabels"].update(
        {"app.kubernetes.io/instance": "other"})),
    ("ServiceMonitor", "part_of", lambda d: d["spec"]["endpoints"][0].pop("relabelings")),
    ("Job", "hook", lambda d: d["metadata"]["annotations"].update(
        {"helm.sh/hook": "post-install"})),
    ("Job", "command", lambda d: _container(d).update(command=["python", "-m", "x"])),
    ("Deployment", "migrates itself", lambda d: [e.update(value="true") for e in _container(d)[
        "env"] if e["name"] == "CDSP_MIGRATE_ON_START"]),
    ("HorizontalPodAutoscaler", "gone", lambda d: d.clear()),
    ("PodDisruptionBudget", "gone", lambda d: d.clear()),
]


@pytest.mark.parametrize(("kind", "what", "mutate"), BREAKAGES,
                         ids=[f"{k}-{w}" for k, w, _ in BREAKAGES])
def test_checks_catch_broken_manifests(kind: str, what: str,
                                       mutate: Callable[[Doc], None]) -> None:
    docs = copy.deepcopy(render(MONITORING_ON))
    svc = "notification"
    assert problems_service_set(docs, svc, 50055, 9105) == []
    name = f"{RELEASE}-{svc}-migration" if kind == "Job" else f"{RELEASE}-{svc}"
    target = get(docs, kind, name)
    mutate(target)
    if not target:
        docs = [d for d in docs if d]
    assert problems_service_set(docs, svc, 50055, 9105) != [], what


def test_prometheus_rule_embeds_the_platform_alerts_or_values_groups() -> None:
    alerts = CHART.parents[1] / "deploy" / "prometheus" / "alerts.yaml"
    rule = get(render(MONITORING_ON), "PrometheusRule", f"{RELEASE}-cdsp")
    assert rule["spec"]["groups"] == yaml.safe_load(alerts.read_text(encoding="utf-8"))["groups"]
    groups = [{"name": "site", "rules": [{"alert": "X", "expr": "vector(1) > 2"}]}]
    rule = get(render(merged(MONITORING_ON, {"monitoring": {"prometheusRule": {
        "groups": groups}}})), "PrometheusRule", f"{RELEASE}-cdsp")
    assert rule["spec"]["groups"] == groups


def test_the_city_runs_two_database_roles_and_secured_kafka() -> None:
    docs = render(VALUE_SETS["city"])
    assert set(services_of(VALUE_SETS["city"])) == set(SERVICES)
    for svc in SERVICES:
        job_env = {e["name"]: e for e in _container(get(docs, "Job",
                                                        f"{RELEASE}-{svc}-migration"))["env"]}
        assert job_env["CDSP_DB_APP_ROLE"]["value"] == f"cdsp_{svc}_app"
        env = {e["name"]: e for e in _container(get(docs, "Deployment", f"{RELEASE}-{svc}"))
               ["env"]}
        assert env["CDSP_KAFKA_SECURITY_PROTOCOL"]["value"] == "SASL_SSL"
        assert "CDSP_KAFKA_CA_FILE" in env and "CDSP_KAFKA_PASSWORD" in env


def test_strimzi_topics_behind_a_switch_match_the_topics_script() -> None:
    import topics

    assert [d for d in render({}) if d["kind"] == "KafkaTopic"] == []
    values = merged(VALUE_SETS["city"], {"kafkaTopics": {"strimzi": {"enabled": True,
                                                                     "cluster": "city"}}})
    rendered = {d["spec"]["topicName"]: d for d in render(values) if d["kind"] == "KafkaTopic"}
    kafka = values["kafka"]
    specs = [s.sized(kafka["topicPartitions"], kafka["topicReplication"])
             for s in topics.load_topics()]
    expected = {d["spec"]["topicName"]: d
                for d in topics.strimzi_objects(specs, NAMESPACE, "city")}
    assert set(rendered) == set(expected) == {*(f"cdsp.{s}.v1" for s in (*FIVE, "audit")),
                                              "cdsp.registry.contacts.v1"}
    for name, doc in rendered.items():
        assert doc["spec"] == expected[name]["spec"], name
        assert doc["metadata"]["name"] == expected[name]["metadata"]["name"]
        assert doc["metadata"]["labels"]["strimzi.io/cluster"] == "city"
        assert doc["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
        assert doc["spec"]["partitions"] == 12
    assert "cdsp.partner.v1" not in rendered  # the gateway publishes nothing of its own
    with pytest.raises(helm_python.HelmError, match=r"kafkaTopics\.strimzi\.cluster"):
        chart_render({"kafkaTopics": {"strimzi": {"enabled": True}}})


def test_strimzi_topics_for_the_partner_gateway_s_kafka_subscribers(tmp_path: Path) -> None:
    import topics

    from partner.domain.subscription import topic_of

    subscribers = [{"code": "charity-a"}, {"code": "insurer-b", "user": "insurer-b-kafka"}]
    strimzi = {"kafkaTopics": {"strimzi": {"enabled": True, "cluster": "city"}},
               "partnerSubscribers": subscribers}
    assert [d for d in render({"partnerSubscribers": subscribers})
            if d["kind"] == "KafkaTopic"] == []  # off: the gateway creates them itself
    file = yaml.safe_load((CHART / "files" / "topics.yaml").read_text(encoding="utf-8"))
    # The settings every topic of the file must have (scripts/topics.py) hold for the template.
    checked = tmp_path / "subscriber-topic.yaml"
    checked.write_text(yaml.safe_dump({"topics": [{"name": topic_of("charity-a"),
                                                   **file["partnerSubscriberTopic"]}]}))
    [spec] = topics.load_topics(checked)
    assert spec.config["cleanup.policy"] == "delete"  # events are facts, as on the other topics
    for values_name in VALUE_SETS:
        values = merged(VALUE_SETS[values_name], strimzi)
        rendered = {d["spec"]["topicName"]: d for d in render(values) if d["kind"] == "KafkaTopic"}
        platform = {s.name for s in topics.load_topics()}
        assert set(rendered) == platform | {topic_of("charity-a"), topic_of("insurer-b")}
        kafka = merged(values_file("values.yaml")["kafka"], values.get("kafka", {}))
        sized = spec.sized(kafka["topicPartitions"], kafka["topicReplication"])
        for code in ("charity-a", "insurer-b"):
            doc = rendered[topic_of(code)]
            assert doc["metadata"]["name"] == f"cdsp-partner-{code}-v1"
            assert doc["metadata"]["labels"]["strimzi.io/cluster"] == "city"
            assert doc["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
            assert (doc["spec"]["partitions"], doc["spec"]["replicas"]) == (
                sized.partitions, sized.replication)
            assert {k: str(v) for k, v in doc["spec"]["config"].items()} == sized.config


# Kubernetes versions whose API schemas every rendered manifest must satisfy: the chart's lowest
# (Chart.yaml kubeVersion) and the newest kubernetes-validate carries. Strict: an unknown field
# (a typo such as `servce:` in a probe) is an error, as the API server's strict field validation
# would make it. Custom resources (Prometheus Operator, Strimzi, cert-manager) have no schema
# here (Strimzi's KafkaUser gets one of its own in test_kafka_acls.py).
KUBE_VERSIONS = ("1.27.0", kubernetes_validate.latest_version())
CUSTOM_GROUPS = ("monitoring.coreos.com/", "kafka.strimzi.io/", "cert-manager.io/")


def schema_problems(docs: list[Doc], version: str) -> list[str]:
    found = []
    for doc in docs:
        if doc["apiVersion"].startswith(CUSTOM_GROUPS):
            continue
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            where = ".".join(str(p) for p in exc.path)
            found.append(f"{doc['kind']}/{doc['metadata']['name']} {where}: {exc.message}")
    return found


SASL_AND_TOPICS = {"kafka": {"securityProtocol": "SASL_SSL", "credentials": {"secretName": "k"},
                             "tls": {"caSecretName": "ca"}},
                   "kafkaTopics": {"strimzi": {"enabled": True, "cluster": "c"}}}


@pytest.mark.parametrize("values_name", VALUE_SETS)
@pytest.mark.parametrize("version", KUBE_VERSIONS)
def test_every_manifest_satisfies_the_kubernetes_api_schemas(values_name: str,
                                                            version: str) -> None:
    for extra in ({}, merged(MONITORING_ON, SASL_AND_TOPICS)):
        docs = render(merged(VALUE_SETS[values_name], extra))
        kinds = {d["kind"] for d in docs}
        assert {"Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget",
                "NetworkPolicy", "ServiceAccount", "Job"} <= kinds
        assert schema_problems(docs, version) == []


def test_the_schema_check_catches_a_misspelt_field() -> None:
    docs = copy.deepcopy(render({}))
    dep = get(docs, "Deployment", f"{RELEASE}-registry")
    _container(dep)["livenessProbe"]["grpc"]["servce"] = "cdsp.liveness"
    [problem] = schema_problems([dep], KUBE_VERSIONS[0])
    assert "servce" in problem
    get(docs, "Service", f"{RELEASE}-aid")["spec"]["ports"][0]["port"] = "grpc"
    assert schema_problems(docs, KUBE_VERSIONS[0]) != []
