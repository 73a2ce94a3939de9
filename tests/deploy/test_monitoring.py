"""Monitoring as code: alert rules, runbooks, Prometheus and Grafana configuration, compose;
and every cdsp_* metric the rules and dashboards use is one the running services export."""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import promql_parser
import pytest
import yaml

import devstack
from tests.integration.conftest import AID_ENV, NOTIFY_ENV

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
ALERTS = DEPLOY / "prometheus" / "alerts.yaml"
PROMETHEUS = DEPLOY / "prometheus" / "prometheus.yml"
DASHBOARDS = sorted((DEPLOY / "grafana" / "dashboards").glob("*.json"))
RUNBOOKS = DEPLOY / "runbooks"
COMPOSE = ROOT / "docker-compose.yml"
SEVERITIES = {"critical", "warning", "info"}


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def alert_rules() -> list[dict[str, Any]]:
    return [rule for group in load_yaml(ALERTS)["groups"] for rule in group["rules"]
            if "alert" in rule]


def dashboard_exprs() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for path in DASHBOARDS:
        for panel in json.loads(path.read_text())["panels"]:
            out.setdefault(path.name, []).extend(t["expr"] for t in panel["targets"])
    return out


# What Grafana puts in place of its variables before a query reaches Prometheus.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__interval": "30s", "$__range": "6h",
                     "$job": "registry"}


def parse_promql(expr: str, grafana: bool = False) -> promql_parser.Expr:
    """The expression parsed by a PromQL parser (promql-parser, a Rust parser written to match
    Prometheus' own);
    raises ValueError on a syntax error."""
    if grafana:
        for variable, value in sorted(GRAFANA_VARIABLES.items(), key=lambda kv: -len(kv[0])):
            expr = expr.replace(variable, value)
    return promql_parser.parse(expr)


def metrics_in(expr: str, grafana: bool = False) -> set[str]:
    """The cdsp_* metric names the expression selects."""
    names: set[str] = set()

    def visit(node: object) -> bool:
        if isinstance(node, promql_parser.VectorSelector) and node.name:
            names.add(node.name)
        return True

    promql_parser.walk(parse_promql(expr, grafana), visit)
    return {n for n in names if n.startswith("cdsp_")}


def test_the_promql_checks_can_fail() -> None:
    with pytest.raises(ValueError):
        parse_promql("sum by (job (rate(cdsp_x_total[5m]))")
    with pytest.raises(ValueError):
        parse_promql("rate(cdsp_x_total[$__rate_interval])")  # not substituted
    assert metrics_in('max(cdsp_a{x="cdsp_b"}) / on() group_left sum(up) + '
                      "rate(cdsp_c_total[$__rate_interval])", grafana=True) == {"cdsp_a",
                                                                                 "cdsp_c_total"}


# ---------------------------------------------------------------- alert rules and runbooks


def test_alert_rules_are_complete_and_have_runbooks() -> None:
    rules = alert_rules()
    assert len(rules) >= 10
    names = [r["alert"] for r in rules]
    assert len(names) == len(set(names)), "alert names must be unique"
    for rule in rules:
        name = rule["alert"]
        assert re.fullmatch(r"Cdsp[A-Z][A-Za-z]+", name), name
        assert isinstance(rule.get("expr"), str) and rule["expr"].strip(), name
        parse_promql(rule["expr"])  # raises on a syntax error
        assert rule["labels"]["severity"] in SEVERITIES, name
        notes = rule["annotations"]
        assert notes["summary"].strip() and notes["description"].strip(), name
        assert notes["runbook_url"] == f"deploy/runbooks/{name}.md", name
        runbook = ROOT / notes["runbook_url"]
        assert runbook.is_file(), f"{name}: no runbook {runbook}"
        text = runbook.read_text()
        assert text.startswith(f"# {name}\n"), runbook
        for section in ("## What it means", "## First checks", "## Likely causes",
                        "## What to do"):
            assert section in text, f"{runbook.name}: missing {section!r}"
        if "for" in rule:
            assert re.fullmatch(r"\d+[smhd]", rule["for"]), name
    # every runbook belongs to an alert (none left behind by a renamed rule)
    assert {p.stem for p in RUNBOOKS.glob("*.md")} == set(names)


def test_the_alerts_cover_what_operators_must_act_on() -> None:
    exprs = " ".join(r["expr"] for r in alert_rules())
    for needed in ("up{", "cdsp_outbox_backlog_events", "cdsp_outbox_oldest_event_age_seconds",
                   "cdsp_consumer_lag_events", "cdsp_dead_letter_events",
                   "cdsp_aid_sla_breaches_total", 'outcome="failed"',
                   "cdsp_notification_pending_deliveries",
                   "cdsp_notification_undeliverable_total", "cdsp_grpc_requests_total",
                   "cdsp_volunteer_visits_missed_total",
                   "cdsp_employment_follow_ups_overdue_total", "cdsp_outbox_parked_events",
                   "cdsp_pending_events_expired_total", "cdsp_token_revocations_age_seconds",
                   "cdsp_partner_oldest_undelivered_seconds"):
        assert needed in exprs, f"no alert uses {needed}"


def test_a_lost_scrape_target_is_noticed_for_every_service() -> None:
    [rule] = [r for r in alert_rules() if r["alert"] == "CdspServiceNotScraped"]
    jobs = re.findall(r'absent\(up\{job="([a-z]+)"\}\)', rule["expr"])
    assert sorted(jobs) == sorted(devstack.SERVICES)


# ---------------------------------------------------------------- Prometheus, Grafana, compose


def test_prometheus_scrapes_every_service_and_loads_the_rules() -> None:
    config = load_yaml(PROMETHEUS)
    compose = load_yaml(COMPOSE)
    mount = next(v for v in compose["services"]["prometheus"]["volumes"]
                 if v.startswith("./deploy/prometheus:"))
    container_dir = mount.split(":")[1]
    assert f"{container_dir}/{ALERTS.name}" in config["rule_files"]
    targets = {job["job_name"]: [t for sc in job["static_configs"] for t in sc["targets"]]
               for job in config["scrape_configs"]}
    labels = {job["job_name"]: [sc.get("labels", {}) for sc in job["static_configs"]]
              for job in config["scrape_configs"]}
    for service in devstack.SERVICES:
        port = devstack.METRICS_PORTS[service]
        assert targets.get(service) == [f"{service}:{port}"], service
        assert labels[service] == [{"part_of": "cdsp"}], service  # what the rules select on
        env = compose["services"][service]["environment"]
        assert env["CDSP_METRICS_ADDR"] == f"0.0.0.0:{port}", service


def test_compose_runs_pinned_prometheus_and_grafana_with_the_files_mounted() -> None:
    services = load_yaml(COMPOSE)["services"]
    assert set(devstack.SERVICES) <= set(services)
    for name, image in (("prometheus", "prom/prometheus:"), ("grafana", "grafana/grafana:")):
        ref = services[name]["image"]
        assert ref.startswith(image), ref
        assert re.fullmatch(r"v?\d+\.\d+\.\d+", ref.split(":", 1)[1]), f"{ref} is not pinned"
        for volume in services[name]["volumes"]:
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), volume
    grafana = " ".join(services["grafana"]["volumes"])
    assert "./deploy/grafana/provisioning:/etc/grafana/provisioning" in grafana
    assert "./deploy/grafana/dashboards:/var/lib/grafana/dashboards" in grafana


DASHBOARD_NEEDS = {
    # per service: rate, errors, latency
    "cdsp-service.json": {"cdsp_grpc_requests_total", "cdsp_grpc_request_duration_seconds_bucket"},
    # platform: event flow between services, outbox and consumer lag
    "cdsp-platform.json": {"cdsp_events_published_total", "cdsp_events_consumed_total",
                           "cdsp_outbox_backlog_events", "cdsp_consumer_lag_events"},
    # domain: open aid cases by level, SLA compliance, notices by channel
    "cdsp-domain.json": {"cdsp_aid_open_cases", "cdsp_aid_sla_deadlines",
                         "cdsp_notification_deliveries_total"},
}


def test_the_dashboards_show_what_operators_asked_for() -> None:
    exprs = dashboard_exprs()
    for board, needed in DASHBOARD_NEEDS.items():
        used = {name for expr in exprs[board] for name in metrics_in(expr, grafana=True)}
        assert needed <= used, f"{board} lacks {sorted(needed - used)}"
    domain = " ".join(exprs["cdsp-domain.json"])
    assert "by (level)" in domain and "by (channel" in domain


def test_grafana_provisioning_matches_the_dashboards() -> None:
    provisioning = DEPLOY / "grafana" / "provisioning"
    sources = [d for f in (provisioning / "datasources").glob("*.yaml")
               for d in load_yaml(f)["datasources"]]
    providers = [p for f in (provisioning / "dashboards").glob("*.yaml")
                 for p in load_yaml(f)["providers"]]
    assert [p["options"]["path"] for p in providers] == ["/var/lib/grafana/dashboards"]
    uids = {d["uid"] for d in sources if d["type"] == "prometheus"}
    assert uids
    assert {"cdsp-service.json", "cdsp-platform.json", "cdsp-domain.json"} <= {
        p.name for p in DASHBOARDS}
    dashboard_uids = set()
    for path in DASHBOARDS:
        board = json.loads(path.read_text())
        dashboard_uids.add(board["uid"])
        assert board["panels"], path.name
        for panel in board["panels"]:
            assert panel["targets"], f"{path.name}: {panel['title']} has no targets"
            assert panel["datasource"]["uid"] in uids, f"{path.name}: {panel['title']}"
            for target in panel["targets"]:
                assert target["expr"].strip(), target
                parse_promql(target["expr"], grafana=True)  # raises on a syntax error
    assert len(dashboard_uids) == len(DASHBOARDS)


# ---------------------------------------------------------------- against the running services


@pytest.fixture(scope="module")
def exported(stack: devstack.Stack) -> Iterator[set[str]]:
    """The metric names the five services export, scraped live. Services another test already
    runs are reused; the ones started here are stopped at the end of the module (so the
    integration tests' own session fixtures can start them later)."""
    extra = {"aid": AID_ENV, "notification": NOTIFY_ENV}
    started = []
    try:
        for service in devstack.SERVICES:
            port = int(stack.grpc_addr(service).rsplit(":", 1)[1])
            if not devstack.port_open(port):
                devstack.start_service(stack, service,
                                       {"CDSP_SHUTDOWN_GRACE_S": "5", **extra.get(service, {})})
                started.append(service)
        names: set[str] = set()
        for service in devstack.SERVICES:
            url = f"http://127.0.0.1:{stack.metrics_port(service)}/metrics"
            with urllib.request.urlopen(url, timeout=10) as reply:
                names |= metric_names(reply.read().decode())
        yield names
    finally:
        for service in reversed(started):
            devstack.stop_service(stack, service)


def metric_names(text: str) -> set[str]:
    """Family names (from # TYPE lines, so labelled families with no sample yet count) with the
    sample names each type implies, plus every sample name present."""
    names = set()
    suffixes = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_sum", "_count",
                                                                 "_created"),
                "summary": ("_sum", "_count", "_created")}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(maxsplit=3)
            names.add(name)
            base = name.removesuffix("_total") if kind == "counter" else name
            names.update(base + s for s in suffixes.get(kind, ()))
        elif line and not line.startswith("#"):
            names.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    return names


def test_scrape_parsing_counts_families_and_their_samples() -> None:
    text = ("# HELP cdsp_x_total x\n# TYPE cdsp_x_total counter\n"
            "# TYPE cdsp_h_seconds histogram\n# TYPE cdsp_g gauge\ncdsp_g 1.0\n")
    assert metric_names(text) >= {"cdsp_x_total", "cdsp_h_seconds_bucket",
                                  "cdsp_h_seconds_count", "cdsp_g"}
    assert "cdsp_g_bucket" not in metric_names(text)
    assert "cdsp_x_bucket" not in metric_names(text)


def test_every_metric_in_rules_and_dashboards_is_exported(exported: set[str]) -> None:
    for family in ("cdsp_grpc_requests_total", "cdsp_outbox_backlog_events",
                   "cdsp_aid_sla_breaches_total", "cdsp_notification_deliveries_total",
                   "cdsp_volunteer_visits_missed_total",
                   "cdsp_employment_follow_ups_overdue_total", "cdsp_aid_open_cases",
                   "cdsp_aid_sla_deadlines", "cdsp_aid_case_action_breaches_total",
                   "cdsp_partner_oldest_undelivered_seconds", "cdsp_partner_delivered_total"):
        assert family in exported, f"the services no longer export {family}"
    assert "cdsp_made_up_metric_total" not in exported
    used: dict[str, set[str]] = {}
    for rule in alert_rules():
        for name in metrics_in(rule["expr"]):
            used.setdefault(name, set()).add(f"alert {rule['alert']}")
    for board, exprs in dashboard_exprs().items():
        for expr in exprs:
            for name in metrics_in(expr, grafana=True):
                used.setdefault(name, set()).add(f"dashboard {board}")
    assert len(used) >= 15
    unknown = {name: sorted(where) for name, where in used.items() if name not in exported}
    assert not unknown, f"metrics no service exports: {unknown}"


# ---------------------------------------------------------------- a real Prometheus


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _api(port: int, path: str, **params: str) -> Any:
    query = "?" + urllib.parse.urlencode(params) if params else ""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/{path}{query}",
                                    timeout=10) as reply:
            body = json.loads(reply.read())
    except urllib.error.HTTPError as exc:  # a bad query answers 400 with the error in JSON
        body = json.loads(exc.read())
    return body


@pytest.fixture(scope="module")
def prometheus(stack: devstack.Stack, exported: set[str],
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """Prometheus itself (Debian's package, installed by scripts/install.sh) with the compose
    stack's configuration, deploy/prometheus/prometheus.yml: the same jobs and rule file, the
    targets pointed at this test session's services, scraping and evaluating every second."""
    binary = shutil.which("prometheus")
    assert binary, "prometheus is not installed: scripts/install.sh installs Debian's package"
    config = load_yaml(PROMETHEUS)
    config["global"].update(scrape_interval="1s", evaluation_interval="1s")
    config["rule_files"] = [str(ALERTS)]
    port = _free_port()
    for job in config["scrape_configs"]:
        name = job["job_name"]
        target = (f"127.0.0.1:{stack.metrics_port(name)}" if name in devstack.SERVICES
                  else f"127.0.0.1:{port}")
        job["static_configs"] = [{**sc, "targets": [target]} for sc in job["static_configs"]]
    work = tmp_path_factory.mktemp("prometheus")
    (work / "prometheus.yml").write_text(yaml.safe_dump(config))
    log = (work / "prometheus.log").open("wb")
    proc = subprocess.Popen([binary, f"--config.file={work / 'prometheus.yml'}",
                             f"--storage.tsdb.path={work / 'data'}",
                             f"--web.listen-address=127.0.0.1:{port}"],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, (work / "prometheus.log").read_text()[-3000:]
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/ready",
                                            timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "Prometheus never became ready"
            time.sleep(0.2)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def _wait_for(check: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, f"{what}: not so after {timeout}s"
        time.sleep(0.5)
    return found


def _up(port: int) -> dict[str, str]:
    result = _api(port, "query", query="up")["data"]["result"]
    return {r["metric"]["job"]: r["value"][1] for r in result}


def test_prometheus_scrapes_every_service_and_evaluates_every_rule(prometheus: int) -> None:
    _wait_for(lambda: all(_up(prometheus).get(s) == "1" for s in devstack.SERVICES),
              "every service up")
    names = {r["alert"] for r in alert_rules()}

    def evaluated() -> list[dict[str, Any]]:
        groups = _api(prometheus, "rules")["data"]["groups"]
        rules = [r for g in groups for r in g["rules"]]
        return rules if rules and all(r.get("lastEvaluation", "").startswith("20")
                                      for r in rules) else []

    rules = _wait_for(evaluated, "every rule evaluated")
    assert {r["name"] for r in rules} == names
    assert [(r["name"], r.get("lastError")) for r in rules if r["health"] != "ok"] == []
    # Nothing is wrong with a freshly started platform: no alert fires.
    firing = [a["labels"]["alertname"] for a in _api(prometheus, "alerts")["data"]["alerts"]
              if a["state"] == "firing"]
    assert firing == []


def test_every_dashboard_and_alert_query_runs_in_prometheus(prometheus: int) -> None:
    _wait_for(lambda: all(_up(prometheus).get(s) == "1" for s in devstack.SERVICES),
              "every service up")
    queries = [(f"alert {r['alert']}", r["expr"]) for r in alert_rules()]
    for board, exprs in dashboard_exprs().items():
        for expr in exprs:
            for variable, value in GRAFANA_VARIABLES.items():
                expr = expr.replace(variable, value)
            queries.append((board, expr))
    failed = {}
    for where, expr in queries:
        reply = _api(prometheus, "query", query=expr)
        if reply["status"] != "success":
            failed[f"{where}: {expr}"] = reply.get("error")
    assert failed == {}
    # The services' series carry the job label the rules and dashboards group by.
    reply = _api(prometheus, "query", query="count by (job) (cdsp_outbox_backlog_events)")
    assert {r["metric"]["job"] for r in reply["data"]["result"]} == set(devstack.SERVICES)
    assert _api(prometheus, "query", query="rate(cdsp_x[")["status"] == "error"


def test_a_stopped_service_raises_service_down(prometheus: int, stack: devstack.Stack) -> None:
    service = "employment"
    _wait_for(lambda: _up(prometheus).get(service) == "1", f"{service} up")
    devstack.stop_service(stack, service)
    try:
        def service_down() -> list[dict[str, Any]]:
            return [a for a in _api(prometheus, "alerts")["data"]["alerts"]
                    if a["labels"]["alertname"] == "CdspServiceDown"]

        [alert] = _wait_for(service_down, "CdspServiceDown pending")
        # Pending: it fires after the rule's `for` (2 minutes), which this test does not wait.
        assert alert["state"] == "pending"
        assert (alert["labels"]["job"], alert["labels"]["severity"]) == (service, "critical")
    finally:
        devstack.start_service(stack, service, {"CDSP_SHUTDOWN_GRACE_S": "5"})
    _wait_for(lambda: _up(prometheus).get(service) == "1", f"{service} up again")
