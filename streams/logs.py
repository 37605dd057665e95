"""Structured logging (structlog) configured once at the entry point."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote, unquote_plus, urlsplit

import structlog

from streams.settings import Settings

REDACTED = "***"

# Query (or fragment) parameters whose value is a credential, compared lower-case with
# "-" read as "_"; a name ending in one of the suffixes is one too (X-Amz-Signature,
# client_secret, refresh_token, private_key, ...).
SECRET_PARAMETERS = frozenset(
    {
        "token",
        "key",
        "secret",
        "password",
        "passwd",
        "pwd",
        "pass",
        "sig",
        "signature",
        "api_key",
        "apikey",
        "access_token",
        "auth",
        "credential",
        "credentials",
    }
)
_SECRET_SUFFIXES = ("_token", "_key", "_secret", "_password", "_signature", "_sig", "_credential")

# `scheme://netloc` then the rest of the URL up to whitespace. The netloc runs to the
# first "/", "?", "#" or whitespace and its userinfo is what precedes its last "@"
# (as urllib reads it), so a password with an unescaped "@" is masked whole.
_URL = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)(?P<netloc>[^/?#\s]*)(?P<rest>\S*)")
_PARAMETER = re.compile(r"(?P<lead>[?&;#])(?P<name>[^=&;#\s]+)=(?P<value>[^&;#\s\"'<>]*)")


def is_secret_parameter(name: str) -> bool:
    """Whether a URL query parameter of this name carries a credential."""
    normal = unquote(name).strip().lower().replace("-", "_")
    return normal in SECRET_PARAMETERS or normal.endswith(_SECRET_SUFFIXES)


def _mask_parameter(match: re.Match[str]) -> str:
    if not match["value"] or not is_secret_parameter(match["name"]):
        return match[0]
    return f"{match['lead']}{match['name']}={REDACTED}"


def _mask_url(match: re.Match[str]) -> str:
    netloc, rest = match["netloc"], match["rest"]
    userinfo, at, host = netloc.rpartition("@")
    if at:
        user, colon, _password = userinfo.partition(":")
        # user:password keeps the user; a lone userinfo is usually a token (https://TOKEN@host).
        netloc = f"{user}:{REDACTED}@{host}" if colon else f"{REDACTED}@{host}"
    cut = min((i for i in (rest.find("?"), rest.find("#")) if i >= 0), default=-1)
    if cut >= 0:
        rest = rest[:cut] + _PARAMETER.sub(_mask_parameter, rest[cut:])
    return f"{match['scheme']}{netloc}{rest}"


def mask_credentials(text: str) -> str:
    """`text` with the credentials of every URL in it masked, the rest unchanged.

    `redis://user:pass@host:6379/0` -> `redis://user:***@host:6379/0`,
    `https://TOKEN@host/x` -> `https://***@host/x`, and secret-looking query or
    fragment parameters (`token=`, `key=`, `sig=`, `api_key=`, ...) keep their
    name with the value masked: `https://host/hook?token=***&team=ops`.
    """
    if "://" not in text:
        return text
    return _URL.sub(_mask_url, text)


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
        found += url_secrets(url or "")
    # Longest first, so a secret containing another is replaced whole.
    return sorted({value for value in found if len(value) >= 4}, key=len, reverse=True)


def url_secrets(url: str) -> list[str]:
    """The password and the values of secret-looking query parameters of one URL."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return []
    found = [password, unquote(password)] if password else []
    for part in (parts.query, parts.fragment):
        for match in _PARAMETER.finditer("?" + part):
            if match["value"] and is_secret_parameter(match["name"]):
                found += [match["value"], unquote_plus(match["value"])]
    return found


class Redactor:
    """Masks log text: a structlog processor and a logging filter.

    Replaces every configured secret value, and masks the credentials of any URL
    that appears in a message (`mask_credentials`), configured or not.
    """

    def __init__(self, secrets: Iterable[str]) -> None:
        self._secrets = list(secrets)

    def text(self, value: str) -> str:
        for secret in self._secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        return mask_credentials(value)

    def _value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self._value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self._value(v) for v in value)
        return value

    def __call__(self, _logger: Any, _method: str, event_dict: Any) -> Any:
        return {key: self._value(value) for key, value in event_dict.items()}

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: let the handler report it, as without us
            return True
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
