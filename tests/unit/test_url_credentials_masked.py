"""Credentials inside URLs never reach `kpimon config` output or a log line."""

from __future__ import annotations

import argparse
import io
import logging
from contextlib import redirect_stdout

import pytest
from pydantic import SecretStr

from streams.cli import config as config_command
from streams.logs import REDACTED, Redactor, is_secret_parameter, mask_credentials, secret_values
from streams.settings import AlertSettings, KafkaSettings, RedisSettings, Settings

# (text, masked) — every URL shape a setting or an error message may carry.
MASKED = [
    ("redis://user:pass@host:6379/0", "redis://user:***@host:6379/0"),
    (
        "rediss://default:s3cr%40t@cache.example.com:6380/1",
        "rediss://default:***@cache.example.com:6380/1",
    ),
    ("redis://:onlypass@127.0.0.1:6379/0", "redis://:***@127.0.0.1:6379/0"),
    ("redis://user:p@ss:w@rd@host:6379", "redis://user:***@host:6379"),
    ("https://user:pass@hooks.example.com/path", "https://user:***@hooks.example.com/path"),
    ("https://ghp_token123@hooks.example.com/x", "https://***@hooks.example.com/x"),
    (
        "https://hooks.example.com/x?token=abc&team=ops",
        "https://hooks.example.com/x?token=***&team=ops",
    ),
    ("https://h/x?key=k&secret=s&password=p", "https://h/x?key=***&secret=***&password=***"),
    ("https://h/x?sig=1&signature=2&api_key=3", "https://h/x?sig=***&signature=***&api_key=***"),
    ("https://h/x?access_token=a&Api-Key=b", "https://h/x?access_token=***&Api-Key=***"),
    (
        "https://h/x?X-Amz-Signature=abc&X-Amz-Date=1",
        "https://h/x?X-Amz-Signature=***&X-Amz-Date=1",
    ),
    (
        "https://h/x?client_secret=c&refresh_token=r",
        "https://h/x?client_secret=***&refresh_token=***",
    ),
    ("https://h/cb#access_token=frag&state=1", "https://h/cb#access_token=***&state=1"),
    ("https://h/x?token=", "https://h/x?token="),
    ("https://h/x?keys=1&monkey=2&tokens=3", "https://h/x?keys=1&monkey=2&tokens=3"),
    ("https://u:p@h/x?token=t#sig=s", "https://u:***@h/x?token=***#sig=***"),
    ("SASL_SSL://svc:pw@broker:9093", "SASL_SSL://svc:***@broker:9093"),
    (
        "connect to redis://u:pw1@h1:6379/0 failed, fell back to redis://u:pw2@h2:6379/0",
        "connect to redis://u:***@h1:6379/0 failed, fell back to redis://u:***@h2:6379/0",
    ),
    ("url='redis://u:pw@h:6379/0' next", "url='redis://u:***@h:6379/0' next"),
    ('{"url": "https://h/x?token=abc", "n": 1}', '{"url": "https://h/x?token=***", "n": 1}'),
    ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
    ("http://127.0.0.1:9464/runbooks", "http://127.0.0.1:9464/runbooks"),
    ("https://h/path/token=notaquery", "https://h/path/token=notaquery"),
    ("no url here, token=abc", "no url here, token=abc"),
    ("", ""),
]


@pytest.mark.parametrize(("text", "masked"), MASKED, ids=[m[0][:50] for m in MASKED])
def test_mask_credentials(text: str, masked: str) -> None:
    """Passwords, lone userinfo tokens and secret-named parameters are masked; the rest stays."""
    assert mask_credentials(text) == masked


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("token", True), ("TOKEN", True), ("key", True), ("secret", True), ("password", True),
        ("sig", True), ("signature", True), ("api_key", True), ("api-key", True),
        ("apikey", True), ("access_token", True), ("x-amz-signature", True),
        ("client_secret", True), ("private_key", True), ("team", False), ("keys", False),
        ("monkey", False), ("tokens", False), ("page", False), ("key_id", False),
    ],
)  # fmt: skip
def test_secret_parameter_names(name: str, secret: bool) -> None:
    """Which query parameter names are taken for credentials."""
    assert is_secret_parameter(name) is secret


def _settings() -> Settings:
    return Settings(
        kafka=KafkaSettings(sasl_password=SecretStr("kafka-sasl-pw")),
        redis=RedisSettings(url="redis://kpimon:redis-url-pw@cache:6379/0"),
        alerts=AlertSettings(
            webhook_url="https://hooker:hook-url-pw@hooks.example.com/in?token=hook-token-1&team=ops",
            webhook_secret=SecretStr("hook-hmac-key"),
            alertmanager_url="https://am-user:am-pw-9@am.example.com",
        ),
    )


SECRETS = [
    "kafka-sasl-pw",
    "redis-url-pw",
    "hook-url-pw",
    "hook-token-1",
    "hook-hmac-key",
    "am-pw-9",
]


def test_kpimon_config_prints_no_credential() -> None:
    """`kpimon config` shows every URL with its credentials masked and no secret anywhere."""
    out = io.StringIO()
    with redirect_stdout(out):
        status = config_command.run(argparse.Namespace(markdown=False), _settings())
    text = out.getvalue()
    assert status == 0
    assert [s for s in SECRETS if s in text] == []
    assert "KPIMON_REDIS__URL=redis://kpimon:***@cache:6379/0\n" in text
    assert (
        "KPIMON_ALERTS__WEBHOOK_URL="
        "https://hooker:***@hooks.example.com/in?token=***&team=ops\n" in text
    )
    assert "KPIMON_ALERTS__ALERTMANAGER_URL=https://am-user:***@am.example.com\n" in text
    assert "KPIMON_ALERTS__WEBHOOK_SECRET=********\n" in text


def test_configured_url_secrets_are_known_to_the_redactor() -> None:
    """Passwords and secret query values of configured URLs are redacted even outside a URL."""
    assert set(SECRETS) <= set(secret_values(_settings()))
    redactor = Redactor(secret_values(_settings()))
    assert redactor.text("auth failed for hook-token-1 and am-pw-9") == (
        f"auth failed for {REDACTED} and {REDACTED}"
    )


@pytest.mark.parametrize(("text", "masked"), MASKED[:8], ids=[m[0][:50] for m in MASKED[:8]])
def test_logged_urls_are_masked_even_when_not_configured(text: str, masked: str) -> None:
    """A URL with credentials in a structlog event or a stdlib record is masked by the redactor."""
    redactor = Redactor([])
    event = redactor(None, "warning", {"event": "redis unavailable", "error": f"at {text}"})
    assert event == {"event": "redis unavailable", "error": f"at {masked}"}
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "cannot reach %s", (text,), None)
    assert redactor.filter(record)
    assert record.getMessage() == f"cannot reach {masked}"


def test_exception_text_with_a_url_is_masked() -> None:
    """A traceback whose message holds a URL with a password is masked in the log record."""
    try:
        raise ConnectionError("Error connecting to redis://u:tb-pw-77@h:6379/0")
    except ConnectionError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "boom", (), sys.exc_info())
    Redactor([]).filter(record)
    assert record.exc_text is not None
    assert "tb-pw-77" not in record.exc_text and "redis://u:***@h:6379/0" in record.exc_text
