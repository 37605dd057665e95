"""Redis clients built from settings (auth and TLS included; the password is never logged)."""

from __future__ import annotations

from typing import Any

import redis
import redis.asyncio as aioredis

from streams.settings import RedisSettings


def _options(settings: RedisSettings) -> dict[str, Any]:
    options: dict[str, Any] = {"socket_timeout": 30, "socket_connect_timeout": 10}
    if settings.username:
        options["username"] = settings.username
    if settings.password:
        options["password"] = settings.password.get_secret_value()
    if settings.ssl:
        options["ssl_cert_reqs"] = "required"
        if settings.ssl_ca_certs:
            options["ssl_ca_certs"] = str(settings.ssl_ca_certs)
    return options


def _url(settings: RedisSettings) -> str:
    if settings.ssl and settings.url.startswith("redis://"):
        return "rediss://" + settings.url[len("redis://") :]
    return settings.url


def async_client(settings: RedisSettings) -> aioredis.Redis:
    return aioredis.Redis.from_url(_url(settings), **_options(settings))


def sync_client(settings: RedisSettings) -> redis.Redis:
    return redis.Redis.from_url(_url(settings), **_options(settings))
