"""kafka-python / aiokafka connection options from settings (security included)."""

from __future__ import annotations

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


def aiokafka_config(kafka: KafkaSettings) -> dict[str, Any]:
    """Connection keyword arguments of aiokafka producers and consumers (security included)."""
    from aiokafka.helpers import create_ssl_context

    config: dict[str, Any] = {
        "bootstrap_servers": kafka.bootstrap_servers,
        "security_protocol": kafka.security_protocol,
    }
    if kafka.security_protocol in ("SSL", "SASL_SSL"):
        config["ssl_context"] = create_ssl_context(
            cafile=str(kafka.ssl_cafile) if kafka.ssl_cafile else None,
            certfile=str(kafka.ssl_certfile) if kafka.ssl_certfile else None,
            keyfile=str(kafka.ssl_keyfile) if kafka.ssl_keyfile else None,
        )
    if kafka.sasl_mechanism:
        config["sasl_mechanism"] = kafka.sasl_mechanism
        config["sasl_plain_username"] = kafka.sasl_username
        config["sasl_plain_password"] = (
            kafka.sasl_password.get_secret_value() if kafka.sasl_password else None
        )
    return config
