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

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class KafkaSettings(BaseModel):
    bootstrap_servers: str = Field(
        default="127.0.0.1:9092", description="Kafka bootstrap servers, comma-separated"
    )
    topic_prefix: str = Field(default="", description="prefix of every topic name")
    partitions: int = Field(
        default=4,
        ge=1,
        le=256,
        description="partitions of topics created by `kpimon topics create`",
    )
    replication_factor: int = Field(
        default=1, ge=1, description="replication factor of created topics"
    )
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        default="PLAINTEXT", description="PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL"
    )
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = Field(
        default=None, description="PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"
    )
    sasl_username: str | None = Field(default=None, description="SASL user")
    sasl_password: SecretStr | None = Field(
        default=None, description="SASL password (secret, never logged)"
    )
    ssl_cafile: Path | None = Field(default=None, description="CA bundle to verify the broker")
    ssl_certfile: Path | None = Field(default=None, description="client certificate (mutual TLS)")
    ssl_keyfile: Path | None = Field(default=None, description="client key (mutual TLS)")
    max_message_bytes: int = Field(
        default=1_000_000, ge=1024, description="larger messages are dead-lettered as oversized"
    )
    session_timeout_seconds: float = Field(
        default=10.0,
        ge=6,
        le=300,
        description="a crashed worker's partitions move on after this long",
    )
    consumer_group: str = Field(
        default="kpimon-worker", description="consumer group (and faust app id) of the worker"
    )


class EventSettings(BaseModel):
    """Sanity bounds on accepted events (SPEC §3): beyond them a message is dead-lettered."""

    max_clock_skew_seconds: float = Field(
        default=900.0,
        gt=0,
        description="an occurred_at further ahead of the worker's clock is rejected (clock_skew)",
    )
    max_quantity: float = Field(
        default=1e9,
        gt=0,
        le=1e12,
        description="largest magnitude of any quantity (units, stock, delta, forecast, policy)",
    )
    max_amount: float = Field(
        default=1e9,
        gt=0,
        le=1e12,
        description="largest unit price, unit cost or expedite cost ($)",
    )
    min_magnitude: float = Field(
        default=1e-6,
        gt=0,
        le=1,
        description="a non-zero number smaller than this in magnitude is rejected "
        "(subnormals and dust that overflow a ratio)",
    )


class RedisSettings(BaseModel):
    url: str = Field(default="redis://127.0.0.1:6379/0", description="Redis URL")
    username: str | None = Field(default=None, description="Redis ACL user")
    password: SecretStr | None = Field(
        default=None, description="Redis password (secret, never logged)"
    )
    ssl: bool = Field(default=False, description="connect with TLS")
    ssl_ca_certs: Path | None = Field(default=None, description="CA bundle to verify Redis")
    key_prefix: str = Field(default="kpimon:", description="prefix of every Redis key")


class StateSettings(BaseModel):
    """How the KPI state is kept in Redis (SPEC §4.1): checkpoints, a short event log, dedup."""

    dedup_horizon_seconds: float | None = Field(
        default=None,
        gt=0,
        description="event_ids are remembered this long by event time (default, and at "
        "least: the longest window); an older event is counted late and dropped",
    )
    dedup_slots: int = Field(
        default=4096,
        ge=1,
        le=1 << 20,
        description="Redis hashes per event day holding the ids; each stays compact up to "
        "~128 ids, so size it to the events of a day ÷ 100",
    )
    checkpoint_interval_seconds: float = Field(
        default=60.0,
        gt=0,
        description="the KPI process checkpoints its state this often, then trims the event "
        "log it no longer needs",
    )
    checkpoint_log_events: int = Field(
        default=500_000,
        ge=1,
        description="...or sooner, once the log since the last checkpoint holds this many events",
    )


class KpiSettings(BaseModel):
    windows: list[str] = Field(
        default_factory=lambda: ["7d", "30d"], description="trailing KPI windows (JSON list)"
    )
    allowed_lateness_seconds: float = Field(
        default=120.0, ge=0, description="watermark = latest event time minus this"
    )
    excess_cover_days: float = Field(
        default=90.0, gt=0, description="stock above this many days of demand is excess"
    )
    obsolete_after_days: float = Field(
        default=90.0, gt=0, description="no demand for this long makes stock obsolete"
    )
    cv_threshold: float = Field(
        default=1.0, gt=0, description="demand CV above this puts stock at risk"
    )
    lead_time_cv_threshold: float = Field(
        default=0.5, gt=0, description="supplier lead-time CV above this puts stock at risk"
    )
    service_target: float = Field(
        default=0.95, gt=0, lt=1, description="service level behind the safety-stock z"
    )
    default_lead_time_days: float = Field(
        default=7.0, gt=0, description="lead time used before any receipt is seen"
    )
    cost_to_service_period_seconds: float = Field(
        default=86400.0,
        gt=0,
        description="period of the cost-to-service curve (a whole number of buckets)",
    )
    bucket_seconds: int = Field(
        default=86400,
        gt=0,
        description="event-time bucket, UTC-aligned (s): windows are whole buckets, state is "
        "kept per bucket; must divide a day (86400, 3600, ...)",
    )
    snapshot_interval_seconds: float = Field(
        default=1.0, gt=0, description="how often the worker recomputes the KPIs"
    )
    max_locations: int = Field(
        default=200, ge=1, description="cap on distinct location label values exported"
    )
    max_label_values: int = Field(
        default=200, ge=1, description="cap on distinct values of other labels exported"
    )
    location_allowlist: list[str] = Field(
        default_factory=list,
        description="locations always exported (JSON list); the rest of the cap goes to "
        "the most active",
    )
    top_at_risk: int = Field(
        default=20, ge=0, description="at-risk SKU-locations exported per location"
    )
    insight_noise: float = Field(
        default=0.01,
        ge=0,
        lt=1,
        description="a KPI moved up or down on its prior window only beyond this relative "
        "change (SPEC §4.3 insights)",
    )
    inventory_tolerance: float = Field(
        default=0.02,
        ge=0,
        lt=1,
        description="average inventory value may rise this much (relative) while fill rate "
        "rises for service_without_inventory to hold",
    )

    @field_validator("windows")
    @classmethod
    def _windows_parse(cls, value: list[str]) -> list[str]:
        from streams.core.windows import parse_duration

        if not value:
            raise ValueError("at least one window is needed")
        for item in value:
            parse_duration(item)
        return value

    @model_validator(mode="after")
    def _whole_buckets(self) -> KpiSettings:
        """Buckets tile a UTC day, and every window and period is made of whole buckets."""
        from streams.core.windows import parse_duration

        bucket = self.bucket_seconds
        if 86400 % bucket:
            raise ValueError(
                f"bucket_seconds={bucket} must divide a day (86400 s): e.g. 86400, 3600, 900"
            )
        for item in self.windows:
            if parse_duration(item) % bucket:
                raise ValueError(
                    f"window {item!r} is not a whole number of buckets "
                    f"(bucket_seconds={bucket}): use a multiple of it, or a smaller bucket"
                )
        if self.cost_to_service_period_seconds % bucket:
            raise ValueError(
                f"cost_to_service_period_seconds={self.cost_to_service_period_seconds:g} is not "
                f"a whole number of buckets (bucket_seconds={bucket})"
            )
        return self


class ExporterSettings(BaseModel):
    host: str = Field(default="127.0.0.1", description="bind address")
    port: int = Field(default=9464, ge=1, le=65535, description="exporter port")
    cache_seconds: float = Field(
        default=2.0, ge=0, description="exporter reuses a Redis read this long"
    )


class WorkerSettings(BaseModel):
    host: str = Field(default="127.0.0.1", description="bind address")
    web_port: int = Field(
        default=6066, ge=1, le=65535, description="unused (faust web server disabled)"
    )
    metrics_port: int = Field(
        default=9465, ge=1, le=65535, description="worker's own /metrics port"
    )
    batch_size: int = Field(
        default=10_000, ge=1, description="most messages per batch (fetched and applied at once)"
    )
    batch_timeout_seconds: float = Field(
        default=0.2, gt=0, description="longest wait to fill a batch"
    )
    data_dir: Path = Field(default=Path("var/worker"), description="faust's data directory")
    bulk_consume: bool = Field(
        default=True,
        description="hand each fetched record batch whole to the pipeline (false: "
        "faust's per-message agent stream, several times slower)",
    )
    kpi_process: bool = Field(
        default=True,
        description="run the KPI engine, snapshots and alert rules in a process of their "
        "own (false: in the worker process, on one core with the ingest)",
    )
    kpi_feed_timeout_seconds: float = Field(
        default=300.0,
        gt=0,
        description="a KPI process that takes longer to take one batch is taken for hung "
        "and replaced (it rebuilds from Redis)",
    )
    max_stall_seconds: float = Field(
        default=300.0,
        gt=0,
        description="a batch that Redis or Kafka keeps refusing this long (or Redis down this "
        "long at start) makes the worker exit with status 69 instead of retrying for ever; "
        "shorter outages are ridden out",
    )
    send_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        description="a dead letter or alert the broker has not acknowledged this long fails "
        "and is sent again (the producers' request timeout)",
    )


class AlertSettings(BaseModel):
    rules_file: Path | None = Field(
        default=None, description="alert rules YAML (default: the shipped rules)"
    )
    alertmanager_url: str | None = Field(
        default="http://127.0.0.1:9093", description="Alertmanager base URL (empty disables)"
    )
    webhook_url: str | None = Field(
        default=None, description="generic JSON webhook URL (empty disables)"
    )
    webhook_secret: SecretStr | None = Field(
        default=None, description="HMAC-SHA256 key of the webhook (secret, never logged)"
    )
    dashboard_base_url: str = Field(
        default="http://127.0.0.1:3000", description="Grafana base URL for alert links"
    )
    runbook_base_url: str = Field(
        default="http://127.0.0.1:9464/runbooks",
        description="URL of the directory of runbooks (`<alertname>.md`) for alert links; "
        "default: the exporter serves the shipped alerts/runbooks/",
    )
    resend_interval_seconds: float = Field(
        default=60.0, gt=0, description="active alerts re-sent to Alertmanager this often"
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="KPIMON_",
        env_nested_delimiter="__",
        env_file=os.environ.get("KPIMON_ENV_FILE", ".env"),
        extra="ignore",
    )

    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    events: EventSettings = Field(default_factory=EventSettings)
    state: StateSettings = Field(default_factory=StateSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)
    kpi: KpiSettings = Field(default_factory=KpiSettings)
    exporter: ExporterSettings = Field(default_factory=ExporterSettings)
    worker: WorkerSettings = Field(default_factory=WorkerSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "console"] = "console"

    def dedup_horizon(self) -> float:
        """Seconds of event time the event_ids are remembered: the setting, never less than
        the longest window (an event the engine still applies must be deduplicated)."""
        from streams.core.windows import parse_duration

        longest = max(parse_duration(window) for window in self.kpi.windows)
        return max(self.state.dedup_horizon_seconds or longest, longest)
