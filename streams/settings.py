"""The one settings class of the monitor.

Built once at the entry point (`Settings()`), then passed down; nothing else
reads the environment. Values come from `KPIMON_*` variables and an optional
env file named by `KPIMON_ENV_FILE` (default `.env` when present).
Nested groups use `__`, e.g. `KPIMON_KAFKA__BOOTSTRAP_SERVERS`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class KafkaSettings(BaseModel):
    bootstrap_servers: str = "127.0.0.1:9092"
    topic_prefix: str = ""
    partitions: int = Field(default=4, ge=1, le=256)
    replication_factor: int = Field(default=1, ge=1)
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: Path | None = None
    ssl_certfile: Path | None = None
    ssl_keyfile: Path | None = None
    max_message_bytes: int = Field(default=1_000_000, ge=1024)
    consumer_group: str = "kpimon-worker"


class RedisSettings(BaseModel):
    url: str = "redis://127.0.0.1:6379/0"
    username: str | None = None
    password: SecretStr | None = None
    ssl: bool = False
    ssl_ca_certs: Path | None = None
    key_prefix: str = "kpimon:"


class KpiSettings(BaseModel):
    windows: list[str] = Field(default_factory=lambda: ["7d", "30d"])
    allowed_lateness_seconds: float = Field(default=120.0, ge=0)
    excess_cover_days: float = Field(default=90.0, gt=0)
    obsolete_after_days: float = Field(default=90.0, gt=0)
    cv_threshold: float = Field(default=1.0, gt=0)
    lead_time_cv_threshold: float = Field(default=0.5, gt=0)
    service_target: float = Field(default=0.95, gt=0, lt=1)
    default_lead_time_days: float = Field(default=7.0, gt=0)
    cost_to_service_period_seconds: float = Field(default=86400.0, gt=0)
    snapshot_interval_seconds: float = Field(default=1.0, gt=0)
    max_locations: int = Field(default=500, ge=1)
    max_label_values: int = Field(default=200, ge=1)
    top_at_risk: int = Field(default=20, ge=0)

    @field_validator("windows")
    @classmethod
    def _windows_parse(cls, value: list[str]) -> list[str]:
        from streams.core.windows import parse_duration

        for item in value:
            parse_duration(item)
        return value


class ExporterSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = Field(default=9464, ge=1, le=65535)
    cache_seconds: float = Field(default=2.0, ge=0)


class WorkerSettings(BaseModel):
    host: str = "127.0.0.1"
    web_port: int = Field(default=6066, ge=1, le=65535)
    metrics_port: int = Field(default=9465, ge=1, le=65535)
    batch_size: int = Field(default=2000, ge=1)
    batch_timeout_seconds: float = Field(default=0.2, gt=0)
    data_dir: Path = Path("var/worker")


class AlertSettings(BaseModel):
    rules_file: Path | None = None
    alertmanager_url: str | None = "http://127.0.0.1:9093"
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    dashboard_base_url: str = "http://127.0.0.1:3000"
    runbook_base_url: str = "https://github.com/inventory-kpi-monitor/runbooks/blob/main"
    resend_interval_seconds: float = Field(default=60.0, gt=0)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="KPIMON_",
        env_nested_delimiter="__",
        env_file=os.environ.get("KPIMON_ENV_FILE", ".env"),
        extra="ignore",
    )

    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)
    kpi: KpiSettings = Field(default_factory=KpiSettings)
    exporter: ExporterSettings = Field(default_factory=ExporterSettings)
    worker: WorkerSettings = Field(default_factory=WorkerSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "console"] = "console"
