"""The registry's keys of personal identifiers at rest (issue 13), and the partner gateway's keys
that seal its subscribers' secrets and pseudonym keys (issue 15), come from a Secret in every
value set of the chart and from the environment in compose, never as plain values."""

from __future__ import annotations

import pytest
import yaml

from tests.deploy.test_helm_chart import RELEASE, VALUE_SETS, get, merged, render
from tests.deploy.test_images import ROOT

PII = {"CDSP_PII_KEYS", "CDSP_PII_INDEX_KEY"}
PARTNER_KEYS = "CDSP_PARTNER_KEYS"


@pytest.mark.parametrize("name", sorted(VALUE_SETS))
def test_the_registry_reads_its_keys_from_a_required_secret(name: str) -> None:
    docs = render(merged(VALUE_SETS[name]))
    env = get(docs, "Deployment", f"{RELEASE}-registry")["spec"]["template"]["spec"][
        "containers"][0]["env"]
    found = {e["name"]: e for e in env if e["name"] in PII}
    assert set(found) == PII, name
    for e in found.values():
        ref = e["valueFrom"]["secretKeyRef"]
        assert "value" not in e and ref["name"] and not ref.get("optional"), e
    for other in ("aid", "employment", "volunteer", "notification", "partner"):  # the registry's
        spec = get(docs, "Deployment", f"{RELEASE}-{other}")["spec"]["template"]["spec"]
        assert not PII & {e["name"] for e in spec["containers"][0]["env"]}, other


@pytest.mark.parametrize("name", sorted(VALUE_SETS))
def test_the_partner_gateway_reads_its_keys_from_a_required_secret(name: str) -> None:
    docs = render(merged(VALUE_SETS[name]))
    env = get(docs, "Deployment", f"{RELEASE}-partner")["spec"]["template"]["spec"][
        "containers"][0]["env"]
    [found] = [e for e in env if e["name"] == PARTNER_KEYS]
    ref = found["valueFrom"]["secretKeyRef"]
    assert "value" not in found and ref["name"] and not ref.get("optional"), found
    # Its own Secret: not the registry's keys (another key, another blast radius).
    registry = get(docs, "Deployment", f"{RELEASE}-registry")["spec"]["template"]["spec"][
        "containers"][0]["env"]
    assert ref["name"] not in {e["valueFrom"]["secretKeyRef"]["name"] for e in registry
                               if e["name"] in PII}
    for other in ("registry", "aid", "employment", "volunteer", "notification"):
        spec = get(docs, "Deployment", f"{RELEASE}-{other}")["spec"]["template"]["spec"]
        assert PARTNER_KEYS not in {e["name"] for e in spec["containers"][0]["env"]}, other


def test_compose_requires_the_keys_from_the_environment() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    env = compose["services"]["registry"]["environment"]
    for name in PII:
        assert env[name].startswith(f"${{{name}:?"), name
    partner = compose["services"]["partner"]["environment"]
    assert partner[PARTNER_KEYS].startswith(f"${{{PARTNER_KEYS}:?"), partner[PARTNER_KEYS]
    assert not PII & set(partner) and PARTNER_KEYS not in env
    assert PARTNER_KEYS not in compose["services"]["partner-migrate"]["environment"]
