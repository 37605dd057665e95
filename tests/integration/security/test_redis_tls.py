"""Redis over TLS with an ACL user, through the monitor's own client factory (settings)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from streams.settings import RedisSettings
from streams.store.connection import sync_client
from tests.integration.chaos.services import PrivateRedis, make_tls

pytestmark = pytest.mark.integration

PASSWORD = "redis-tls-S3cret-1d77"


@pytest.fixture()
def tls_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(
        tmp_path / "redis", username="kpimon", password=PASSWORD, tls=make_tls(tmp_path / "tls")
    )
    server.start()
    yield server
    server.stop()


def test_settings_reach_redis_over_tls_as_the_acl_user(tls_redis: PrivateRedis) -> None:
    settings = RedisSettings(
        url=tls_redis.url,  # redis:// is upgraded to rediss:// when ssl is on
        username="kpimon",
        password=PASSWORD,  # type: ignore[arg-type]
        ssl=True,
        ssl_ca_certs=tls_redis.tls["ca"],
    )
    client = sync_client(settings)
    assert client.ping()
    assert client.acl_whoami() in (b"kpimon", "kpimon")


def test_plaintext_wrong_password_and_unknown_ca_are_refused(
    tls_redis: PrivateRedis, tmp_path: Path
) -> None:
    base = dict(url=tls_redis.url, username="kpimon", ssl=True)
    with pytest.raises(redis.ConnectionError):
        redis.Redis.from_url(tls_redis.url, socket_timeout=3).ping()  # no TLS
    with pytest.raises(redis.AuthenticationError) as wrong:
        sync_client(
            RedisSettings(**base, password="nope", ssl_ca_certs=tls_redis.tls["ca"])  # type: ignore[arg-type]
        ).ping()
    assert PASSWORD not in str(wrong.value) and "nope" not in str(wrong.value)
    other_ca = make_tls(tmp_path / "other")["ca"]
    with pytest.raises(redis.ConnectionError):  # certificate not from the trusted CA
        sync_client(RedisSettings(**base, password=PASSWORD, ssl_ca_certs=other_ca)).ping()  # type: ignore[arg-type]
