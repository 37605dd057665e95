"""kafka-python / aiokafka / faust connection options from settings (security included).

The one place that turns `KafkaSettings` into credentials: the publisher and admin
(kafka-python), the KPI process's alert producer (aiokafka) and the worker (faust)
all connect the same way.
"""

from __future__ import annotations

import ssl
from typing import Any

from streams.settings import KafkaSettings


def client_config(kafka: KafkaSettings) -> dict[str, Any]:
    """Connection keyword arguments shared by kafka-python producers, consumers and admin."""
    config: dict[str, Any] = {
        "bootstrap_servers": kafka.bootstrap_servers.split(","),
        "security_protocol": kafka.security_protocol,
    }
    if kafka.sasl_mechanism:
        config["sasl_mechanism"] = kafka.sasl_mechanism
        config["sasl_plain_username"] = kafka.sasl_username
        config["sasl_plain_password"] = (
            kafka.sasl_password.get_secret_value() if kafka.sasl_password else None
        )
    if kafka.ssl_cafile:
        config["ssl_cafile"] = str(kafka.ssl_cafile)
    if kafka.ssl_certfile:
        config["ssl_certfile"] = str(kafka.ssl_certfile)
    if kafka.ssl_keyfile:
        config["ssl_keyfile"] = str(kafka.ssl_keyfile)
    return config


def ssl_context(kafka: KafkaSettings) -> ssl.SSLContext | None:
    """The TLS context of aiokafka and faust clients (None without TLS).

    Verifies the broker against `ssl_cafile`, or the system's CAs when none is given;
    presents the client certificate for mutual TLS when one is configured.
    """
    if kafka.security_protocol not in ("SSL", "SASL_SSL"):
        return None
    context = ssl.create_default_context(cafile=str(kafka.ssl_cafile) if kafka.ssl_cafile else None)
    if kafka.ssl_certfile:
        context.load_cert_chain(
            str(kafka.ssl_certfile), str(kafka.ssl_keyfile) if kafka.ssl_keyfile else None
        )
    return context


def aiokafka_config(kafka: KafkaSettings) -> dict[str, Any]:
    """Connection keyword arguments of aiokafka producers and consumers (security included)."""
    config: dict[str, Any] = {
        "bootstrap_servers": kafka.bootstrap_servers,
        "security_protocol": kafka.security_protocol,
    }
    context = ssl_context(kafka)
    if context is not None:
        config["ssl_context"] = context
    if kafka.sasl_mechanism:
        config["sasl_mechanism"] = kafka.sasl_mechanism
        config["sasl_plain_username"] = kafka.sasl_username
        config["sasl_plain_password"] = (
            kafka.sasl_password.get_secret_value() if kafka.sasl_password else None
        )
    return config


def faust_credentials(kafka: KafkaSettings) -> Any:
    """faust's `broker_credentials` (SASL and/or TLS), or None for PLAINTEXT."""
    import faust

    context = ssl_context(kafka)
    if kafka.sasl_mechanism:
        password = kafka.sasl_password.get_secret_value() if kafka.sasl_password else ""
        return faust.SASLCredentials(
            username=kafka.sasl_username,
            password=password,
            ssl_context=context,
            mechanism=kafka.sasl_mechanism,
        )
    if context is not None:
        return faust.SSLCredentials(context)
    return None
