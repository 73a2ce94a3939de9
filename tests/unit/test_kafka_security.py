"""How the services connect to Kafka: CDSP_KAFKA_* security settings become kafka-python
options, and a combination that would fail (or leak a password) stops the start with a message
naming the variable."""

from __future__ import annotations

from pathlib import Path

import pytest
from kafka import KafkaAdminClient

from runtime.settings import SettingsError, kafka_security_options, load_settings

SCRAM = {"CDSP_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "CDSP_KAFKA_USERNAME": "cdsp-aid",
         "CDSP_KAFKA_PASSWORD": "pw-from-a-secret"}


def test_plaintext_by_default() -> None:
    assert kafka_security_options({}) == {"security_protocol": "PLAINTEXT"}


def test_sasl_ssl_with_scram_and_a_ca(tmp_path: Path) -> None:
    ca = tmp_path / "ca.crt"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    options = kafka_security_options({**SCRAM, "CDSP_KAFKA_CA_FILE": str(ca),
                                      "CDSP_KAFKA_SASL_MECHANISM": "scram-sha-256"})
    assert options == {"security_protocol": "SASL_SSL", "sasl_mechanism": "SCRAM-SHA-256",
                       "sasl_plain_username": "cdsp-aid",
                       "sasl_plain_password": "pw-from-a-secret",
                       "ssl_check_hostname": True, "ssl_cafile": str(ca)}
    assert kafka_security_options(SCRAM)["sasl_mechanism"] == "SCRAM-SHA-512"


def test_the_options_are_ones_kafka_python_accepts() -> None:
    """Every key is a configuration kafka-python's clients know (a typo would be ignored by
    them, silently connecting without TLS or credentials)."""
    options = kafka_security_options({**SCRAM, "CDSP_KAFKA_CA_FILE": __file__})
    assert set(options) <= set(KafkaAdminClient.DEFAULT_CONFIG)


@pytest.mark.parametrize(("env", "message"), [
    ({"CDSP_KAFKA_SECURITY_PROTOCOL": "TLS"}, "CDSP_KAFKA_SECURITY_PROTOCOL must be one of"),
    ({"CDSP_KAFKA_SECURITY_PROTOCOL": "SASL_SSL"},
     "CDSP_KAFKA_USERNAME and CDSP_KAFKA_PASSWORD are required"),
    ({**SCRAM, "CDSP_KAFKA_PASSWORD": ""}, "CDSP_KAFKA_USERNAME and CDSP_KAFKA_PASSWORD"),
    ({**SCRAM, "CDSP_KAFKA_SASL_MECHANISM": "GSSAPI"}, "CDSP_KAFKA_SASL_MECHANISM must be"),
    ({**SCRAM, "CDSP_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
      "CDSP_KAFKA_SASL_MECHANISM": "PLAIN"}, "clear text"),
    ({"CDSP_KAFKA_USERNAME": "u", "CDSP_KAFKA_PASSWORD": "p"}, "credentials would be ignored"),
    ({**SCRAM, "CDSP_KAFKA_CA_FILE": "/nonexistent/ca.crt"}, "CDSP_KAFKA_CA_FILE"),
    ({"CDSP_KAFKA_CA_FILE": __file__}, "no TLS"),
])
def test_wrong_combinations_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message) as caught:
        kafka_security_options(env)
    assert "pw-from-a-secret" not in str(caught.value)


def test_a_service_does_not_start_with_a_wrong_kafka_setting(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CDSP_DATABASE_URL", "postgresql://cdsp@localhost/registry")
    monkeypatch.setenv("CDSP_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.delenv("CDSP_KAFKA_USERNAME", raising=False)
    with pytest.raises(SettingsError, match="CDSP_KAFKA_USERNAME"):
        load_settings("registry", 50051, 9101)
