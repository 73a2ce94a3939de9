"""Unit tests of the alert rules (deploy/prometheus/alerts.yaml), evaluated by Prometheus' own
`promtool test rules` against tests/deploy/alert_rules_test.yaml; and every alert must have a
case there where it fires and one where it does not."""

from __future__ import annotations

import copy
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yaml"
RULE_TESTS = ROOT / "tests" / "deploy" / "alert_rules_test.yaml"
PROMTOOL_TIMEOUT_S = 300


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def alert_names() -> list[str]:
    return [rule["alert"] for group in load_yaml(ALERTS)["groups"] for rule in group["rules"]
            if "alert" in rule]


def alert_cases(tests: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(test group name, case) for every alert_rule_test case of a rule-test file."""
    return [(group.get("name", f"test group {i}"), case)
            for i, group in enumerate(tests["tests"])
            for case in group.get("alert_rule_test") or []]


def fires(case: dict[str, Any]) -> bool:
    """Whether the case expects its alert to fire (promtool reads a missing exp_alerts as
    none)."""
    return bool(case.get("exp_alerts"))


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail("promtool not found on PATH: the alert rules cannot be tested. Install "
                    "Debian's `prometheus` package (scripts/install.sh does), which provides "
                    "/usr/bin/promtool.", pytrace=False)
    return path


def run_promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([promtool(), *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=PROMTOOL_TIMEOUT_S, check=False)


def output(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit code {result.returncode}\n{result.stdout}\n{result.stderr}"


def test_promtool_checks_the_rules() -> None:
    result = run_promtool("check", "rules", str(ALERTS.relative_to(ROOT)))
    assert result.returncode == 0, output(result)


def test_the_rule_tests_pass() -> None:
    result = run_promtool("test", "rules", str(RULE_TESTS.relative_to(ROOT)))
    assert result.returncode == 0, output(result)


def test_the_rule_tests_load_the_alert_rules() -> None:
    files = load_yaml(RULE_TESTS)["rule_files"]
    assert [(RULE_TESTS.parent / f).resolve() for f in files] == [ALERTS.resolve()]


def test_the_rule_tests_name_only_existing_alerts() -> None:
    """promtool passes `exp_alerts: []` for an alert that does not exist (a typo, a renamed
    rule): such a case tests nothing."""
    unknown = {case["alertname"] for _, case in alert_cases(load_yaml(RULE_TESTS))}
    assert unknown - set(alert_names()) == set()


@pytest.mark.parametrize("alert", alert_names())
def test_every_alert_has_a_firing_and_a_quiet_case(alert: str) -> None:
    cases = [case for _, case in alert_cases(load_yaml(RULE_TESTS))
             if case["alertname"] == alert]
    assert any(fires(c) for c in cases), (
        f"{alert}: no case in {RULE_TESTS.name} where it fires (exp_alerts with its labels)")
    assert any(not fires(c) for c in cases), (
        f"{alert}: no case in {RULE_TESTS.name} where it does not fire (exp_alerts: [])")


# ------------------------------------------------------------- the check can fail


def first_firing_group(tests: dict[str, Any]) -> dict[str, Any]:
    """The first test group with a firing case preceded by a quiet one of the same alert
    (before its `for:` elapsed, typically)."""
    for group in tests["tests"]:
        cases = group.get("alert_rule_test") or []
        for i, case in enumerate(cases):
            if fires(case) and any(not fires(c) and c["alertname"] == case["alertname"]
                                   for c in cases[:i]):
                return dict(group)
    raise AssertionError(f"{RULE_TESTS.name} has no quiet case followed by a firing one")


def wrong_label(group: dict[str, Any]) -> None:
    """A firing case expects another severity."""
    case = next(c for c in group["alert_rule_test"] if fires(c))
    case["exp_alerts"][0]["exp_labels"]["severity"] = "info"


def no_alert(group: dict[str, Any]) -> None:
    """A firing case expects no alert."""
    case = next(c for c in group["alert_rule_test"] if fires(c))
    case["exp_alerts"] = []


def fires_too_early(group: dict[str, Any]) -> None:
    """A quiet case (still pending) expects the alert the firing case expects."""
    cases = group["alert_rule_test"]
    at = next(i for i, c in enumerate(cases) if fires(c))
    quiet = next(c for c in reversed(cases[:at])
                 if not fires(c) and c["alertname"] == cases[at]["alertname"])
    quiet["exp_alerts"] = copy.deepcopy(cases[at]["exp_alerts"])


def write_copy(tmp_path: Path, alter: Callable[[dict[str, Any]], None] | None) -> Path:
    """A rule-test file with the first firing test group of the real one, altered or not;
    rule_files made absolute, since the copy lives elsewhere."""
    tests = load_yaml(RULE_TESTS)
    group = copy.deepcopy(first_firing_group(tests))
    if alter is not None:
        alter(group)
    tests["rule_files"] = [str(ALERTS.resolve())]
    tests["tests"] = [group]
    path = tmp_path / ("altered.yaml" if alter else "unaltered.yaml")
    path.write_text(yaml.safe_dump(tests, sort_keys=False))
    return path


def test_the_copy_of_the_rule_tests_passes_unaltered(tmp_path: Path) -> None:
    result = run_promtool("test", "rules", str(write_copy(tmp_path, None)))
    assert result.returncode == 0, output(result)


@pytest.mark.parametrize("alter", [wrong_label, no_alert, fires_too_early],
                         ids=lambda f: f.__name__)
def test_a_wrong_expectation_fails(tmp_path: Path,
                                   alter: Callable[[dict[str, Any]], None]) -> None:
    result = run_promtool("test", "rules", str(write_copy(tmp_path, alter)))
    assert result.returncode != 0, output(result)
    assert "FAILED" in result.stdout + result.stderr, output(result)
