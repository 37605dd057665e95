"""Configured secrets are redacted from structlog events and stdlib log records."""

from __future__ import annotations

import logging

from pydantic import SecretStr

from streams.logs import REDACTED, Redactor, secret_values
from streams.settings import AlertSettings, KafkaSettings, RedisSettings, Settings


def _settings() -> Settings:
    return Settings(
        kafka=KafkaSettings(sasl_password=SecretStr("kafka-pw-123")),
        redis=RedisSettings(url="redis://user:url-pw-456@127.0.0.1:6379/0"),
        alerts=AlertSettings(webhook_secret=SecretStr("hook-secret-789")),
    )


def test_every_secret_is_found() -> None:
    assert set(secret_values(_settings())) == {"kafka-pw-123", "url-pw-456", "hook-secret-789"}


def test_structlog_events_are_redacted() -> None:
    redactor = Redactor(secret_values(_settings()))
    event = {"event": "failed with kafka-pw-123", "nested": {"a": ["x url-pw-456 y"]}, "n": 3}
    out = redactor(None, "info", event)
    assert out == {"event": f"failed with {REDACTED}", "nested": {"a": [f"x {REDACTED} y"]}, "n": 3}


def test_stdlib_records_are_redacted() -> None:
    redactor = Redactor(secret_values(_settings()))
    record = logging.LogRecord(
        "x", logging.ERROR, __file__, 1, "auth %s failed", ("hook-secret-789",), None
    )
    assert redactor.filter(record)
    assert record.getMessage() == f"auth {REDACTED} failed"
