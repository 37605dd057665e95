"""Structured logging (structlog) configured once at the entry point."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote, urlsplit

import structlog

from streams.settings import Settings

REDACTED = "***"


class _CurrentStderr:
    """Writes to whatever sys.stderr is now (test runners swap it), not the one at start."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def secret_values(settings: Settings) -> list[str]:
    """Every configured secret (passwords, the webhook key, credentials inside URLs)."""
    found: list[str] = []
    for secret in (
        settings.kafka.sasl_password,
        settings.redis.password,
        settings.alerts.webhook_secret,
    ):
        if secret is not None and secret.get_secret_value():
            found.append(secret.get_secret_value())
    for url in (settings.redis.url, settings.alerts.webhook_url, settings.alerts.alertmanager_url):
        try:
            password = urlsplit(url or "").password
        except ValueError:
            password = None
        if password:
            found += [password, unquote(password)]
    # Longest first, so a secret containing another is replaced whole.
    return sorted({value for value in found if len(value) >= 4}, key=len, reverse=True)


class Redactor:
    """Replaces secret values in log text: a structlog processor and a logging filter."""

    def __init__(self, secrets: Iterable[str]) -> None:
        self._secrets = list(secrets)

    def text(self, value: str) -> str:
        for secret in self._secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value

    def _value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self._value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self._value(v) for v in value)
        return value

    def __call__(self, _logger: Any, _method: str, event_dict: Any) -> Any:
        if not self._secrets:
            return event_dict
        return {key: self._value(value) for key, value in event_dict.items()}

    def filter(self, record: logging.LogRecord) -> bool:
        if self._secrets:
            message = record.getMessage()
            redacted = self.text(message)
            if record.exc_info and record.exc_info[1] is not None:
                exc_text = logging.Formatter().formatException(record.exc_info)
                record.exc_text = self.text(exc_text)
            if redacted != message:
                record.msg, record.args = redacted, None
        return True


def configure_logging(settings: Settings) -> None:
    """JSON lines or console output on stderr, at the configured level; secrets redacted."""
    level = getattr(logging, settings.log_level)
    logging.basicConfig(stream=sys.stderr, level=level, format="%(levelname)s %(name)s %(message)s")
    redactor = Redactor(secret_values(settings))
    for handler in logging.getLogger().handlers:
        handler.addFilter(redactor)
    # Client libraries narrate every connection at INFO; keep their warnings only.
    for noisy in ("kafka", "aiokafka", "faust", "mode", "httpx"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if settings.log_format == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            redactor,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=_CurrentStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=True,
    )
