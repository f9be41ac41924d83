"""Settings: the docs/architecture.md §3 variables, their defaults, validation and masking."""

from __future__ import annotations

import pytest

from nba_elt.config import get_settings
from nba_elt.errors import ConfigError


def test_defaults_match_the_contract():
    s = get_settings()
    assert s.database_url is None and s.uses_local_db
    assert s.target == "dev"
    assert s.bbref_url == "https://www.basketball-reference.com"
    assert s.requests_per_minute == 15
    assert s.slack_webhook_url is None
    assert (s.ecs_cluster, s.ecs_service) == ("jacobs-ecs-ec2-cluster", "nba_elt_dashboard")
    assert s.aws_region == "us-east-1"
    assert s.aws_endpoint_url is None


def test_environment_overrides(monkeypatch):
    monkeypatch.setenv("NBA_ELT_TARGET", "prod")
    monkeypatch.setenv("NBA_ELT_BBREF_URL", "http://127.0.0.1:8000/")
    monkeypatch.setenv("NBA_ELT_REQUESTS_PER_MINUTE", "600")
    monkeypatch.setenv("NBA_ELT_ECS_SERVICE", "other")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    s = get_settings()
    assert s.target == "prod"
    assert s.bbref_url == "http://127.0.0.1:8000"
    assert s.requests_per_minute == 600
    assert s.ecs_service == "other"
    assert s.aws_region == "eu-west-1"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("NBA_ELT_TARGET", "staging"),
        ("NBA_ELT_REQUESTS_PER_MINUTE", "fast"),
        ("NBA_ELT_REQUESTS_PER_MINUTE", "0"),
        ("NBA_ELT_BBREF_URL", "ftp://example"),
    ],
)
def test_bad_values_are_config_errors_with_exit_2(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as err:
        get_settings()
    assert name in str(err.value)
    assert err.value.exit_code == 2


def test_repr_masks_secrets(monkeypatch):
    monkeypatch.setenv("NBA_ELT_DATABASE_URL", "postgresql://etl:s3cr3t-pw@db.internal:5432/nba")
    monkeypatch.setenv(
        "NBA_ELT_SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/T0/B0/XyZsecret"
    )
    text = repr(get_settings()) + str(get_settings())
    assert "s3cr3t-pw" not in text
    assert "XyZsecret" not in text
    assert "db.internal" in text  # the host is not a secret and helps the operator


def test_bad_webhook_error_does_not_echo_the_value(monkeypatch):
    monkeypatch.setenv("NBA_ELT_SLACK_WEBHOOK_URL", "hooks.slack.com/services/T0/B0/XyZsecret")
    with pytest.raises(ConfigError) as err:
        get_settings()
    assert "XyZsecret" not in str(err.value)
