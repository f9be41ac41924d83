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


def test_every_setting_is_declared_once_with_its_variable():
    from nba_elt.config import SECRET_ENV_NAMES, env_names

    names = env_names()
    assert len(names) == len(set(names))
    for name in ("NBA_ELT_NBA_STATS_URL", "NBA_ELT_USER_AGENT", "NBA_ELT_DB_STATEMENT_TIMEOUT"):
        assert name in names
    assert "NBA_ELT_RUN_DATE" in names  # read by dbt, passed all the same
    assert set(SECRET_ENV_NAMES) == {
        "NBA_ELT_DATABASE_URL",
        "NBA_ELT_DATABASE_PASSWORD",
        "NBA_ELT_SLACK_WEBHOOK_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
    }
    assert {f"{n}_FILE" for n in SECRET_ENV_NAMES} <= set(names)


@pytest.mark.parametrize(
    ("name", "value", "error"),
    [
        ("NBA_ELT_LOCALDB_PORT", "5.5", "must be a whole number"),
        ("NBA_ELT_DB_CONNECT_TIMEOUT", "0", "must be greater than 0"),
        ("NBA_ELT_BACKFILL_LOCK_WAIT", "-1", "must be 0 or more"),
        ("NBA_ELT_MAX_PAGE_MB", "big", "must be a number"),
    ],
)
def test_one_numeric_parser_names_the_variable(monkeypatch, name, value, error):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=f"{name} {error}"):
        get_settings()


def test_zero_is_allowed_where_it_means_no_limit(monkeypatch):
    monkeypatch.setenv("NBA_ELT_DB_STATEMENT_TIMEOUT", "0")
    monkeypatch.setenv("NBA_ELT_BACKFILL_LOCK_WAIT", "0")
    s = get_settings()
    assert (s.db_statement_timeout, s.backfill_lock_wait) == (0, 0)


SECRET_URL = "postgresql://etl:fr0m-a-file@db.internal:5432/nba"


def test_a_secret_is_read_from_its_file_without_the_trailing_newline(monkeypatch, tmp_path):
    from nba_elt.config import scrub

    (tmp_path / "url").write_text(SECRET_URL + "\n")
    (tmp_path / "hook").write_text("https://hooks.slack.com/services/T0/B0/F1leSecret\r\n")
    (tmp_path / "aws").write_text("aws-secret-from-file\n")
    monkeypatch.setenv("NBA_ELT_DATABASE_URL_FILE", str(tmp_path / "url"))
    monkeypatch.setenv("NBA_ELT_SLACK_WEBHOOK_URL_FILE", str(tmp_path / "hook"))
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY_FILE", str(tmp_path / "aws"))
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    s = get_settings()
    assert s.database_url == SECRET_URL
    assert s.slack_webhook_url == "https://hooks.slack.com/services/T0/B0/F1leSecret"
    assert s.aws_credentials() == {"aws_secret_access_key": "aws-secret-from-file"}
    shown = repr(s) + scrub(f"fr0m-a-file {s.slack_webhook_url} aws-secret-from-file")
    for secret in ("fr0m-a-file", "F1leSecret", "aws-secret-from-file"):
        assert secret not in shown


def test_the_password_alone_in_a_file_joins_the_url(monkeypatch, tmp_path):
    from nba_elt.config import scrub

    (tmp_path / "pw").write_text("p@ss/w0rd\n")
    monkeypatch.setenv("NBA_ELT_DATABASE_URL", "postgresql://etl@db.internal:5432/nba")
    monkeypatch.setenv("NBA_ELT_DATABASE_PASSWORD_FILE", str(tmp_path / "pw"))
    s = get_settings()
    assert s.database_url == "postgresql://etl:p%40ss%2Fw0rd@db.internal:5432/nba"
    assert "p@ss" not in repr(s) and "p%40ss" not in repr(s)
    assert scrub(f"failed for {s.database_url} and p@ss/w0rd") == (
        "failed for postgresql://etl:***@db.internal:5432/nba and ***"
    )


@pytest.mark.parametrize(
    ("env", "error"),
    [
        ({"NBA_ELT_DATABASE_URL": SECRET_URL, "NBA_ELT_DATABASE_URL_FILE": "{file}"}, "not both"),
        ({"NBA_ELT_DATABASE_URL_FILE": "{missing}"}, "NBA_ELT_DATABASE_URL_FILE: cannot read"),
        ({"NBA_ELT_SLACK_WEBHOOK_URL_FILE": "{folder}"}, "NBA_ELT_SLACK_WEBHOOK_URL_FILE"),
        ({"NBA_ELT_DATABASE_PASSWORD": "fr0m-a-file"}, "NBA_ELT_DATABASE_URL is not"),
        (
            {"NBA_ELT_DATABASE_URL": SECRET_URL, "NBA_ELT_DATABASE_PASSWORD": "fr0m-a-file"},
            "set twice",
        ),
    ],
)
def test_a_secret_file_misused_is_bad_input_without_the_value(monkeypatch, tmp_path, env, error):
    (tmp_path / "url").write_text(SECRET_URL)
    paths = {"file": tmp_path / "url", "missing": tmp_path / "nope", "folder": tmp_path}
    for name, value in env.items():
        monkeypatch.setenv(name, value.format(**paths))
    with pytest.raises(ConfigError, match=error) as err:
        get_settings()
    assert err.value.exit_code == 2
    assert "fr0m-a-file" not in str(err.value)


def test_aws_default_region_is_the_fallback(monkeypatch):
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-north-1")
    assert get_settings().aws_region == "eu-north-1"
