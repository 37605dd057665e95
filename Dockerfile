# The monitor's image: `kpimon` as entry point (worker, exporter, simulate, publish, ...).
# Used by docker-compose.yml; build with: docker build -t inventory-kpi-monitor:dev .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY streams ./streams
COPY alerts ./alerts
COPY dashboards ./dashboards
RUN pip install . \
 && useradd --system --uid 10001 --user-group --home-dir /var/lib/kpimon --create-home kpimon \
 && mkdir -p /var/lib/kpimon/worker \
 && chown -R kpimon:kpimon /var/lib/kpimon

USER kpimon
ENV KPIMON_WORKER__DATA_DIR=/var/lib/kpimon/worker \
    KPIMON_WORKER__HOST=0.0.0.0 \
    KPIMON_EXPORTER__HOST=0.0.0.0 \
    KPIMON_LOG_FORMAT=json
# exporter /metrics, worker /metrics, worker web
EXPOSE 9464 9465 6066

ENTRYPOINT ["kpimon"]
CMD ["--help"]
