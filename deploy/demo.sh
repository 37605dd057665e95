#!/usr/bin/env bash
# `make demo`: the whole local stack (Kafka, Redis, Prometheus, Alertmanager, worker,
# exporter), then a simulated supply chain publishing into it in the foreground.
# Ctrl-C stops the simulator and every service this script started (services that were
# already running before are left running).
#
#   KPIMON_DEMO_ORDERS_PER_HOUR   orders per location and hour of the simulator (default 60)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

STACK=(bash deploy/stack.sh)
mapfile -t RUNNING_BEFORE < <("${STACK[@]}" running)

cleanup() {
  local status=$? svc
  trap - EXIT INT TERM
  local -a started=()
  while IFS= read -r svc; do
    if [[ " ${RUNNING_BEFORE[*]} " != *" $svc "* ]]; then started+=("$svc"); fi
  done < <("${STACK[@]}" running)
  if [[ ${#started[@]} -gt 0 ]]; then
    echo
    echo "demo: stopping what it started: ${started[*]}"
    "${STACK[@]}" down "${started[@]}" || true
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

make --no-print-directory up

# Point the CLI at the stack (same ports as stack.sh uses).
eval "$("${STACK[@]}" env)"

cat <<EOT

==================================================================================
 Inventory KPI Monitor demo
   KPIs (exporter)    http://127.0.0.1:${KPIMON_STACK_EXPORTER_PORT:-9464}/metrics
   worker metrics     http://127.0.0.1:${KPIMON_STACK_WORKER_METRICS_PORT:-9465}/metrics
   Prometheus         http://127.0.0.1:${KPIMON_STACK_PROMETHEUS_PORT:-9090}/graph?g0.expr=inventory_fill_rate_ratio
   Alertmanager       http://127.0.0.1:${KPIMON_STACK_ALERTMANAGER_PORT:-9093}
   Kafka              ${KPIMON_KAFKA__BOOTSTRAP_SERVERS}
   Redis              ${KPIMON_REDIS__URL}
   Grafana boards     dashboards/*.json (Grafana itself runs with docker compose)
   logs               ${KPIMON_STACK_DIR:-var}/log/<service>.log
 Simulating three days of history, then a live supply chain. Ctrl-C to stop.
==================================================================================
EOT
# Three days of history first (so every windowed KPI has data), then live events stamped
# with the current time; the simulator runs in the background, the live summary in front.
SIM_LOG="${KPIMON_STACK_DIR:-var}/log/simulator.log"
"${KPIMON_STACK_VENV:-.venv}/bin/kpimon" simulate --start now-3d --follow \
  --orders-per-hour "${KPIMON_DEMO_ORDERS_PER_HOUR:-60}" >"$SIM_LOG" 2>&1 &
SIM_PID=$!
trap 'kill "$SIM_PID" 2>/dev/null || true; exit 130' INT TERM
echo "simulator running (pid $SIM_PID, log $SIM_LOG); live summary follows"
sleep 5
"${KPIMON_STACK_VENV:-.venv}/bin/kpimon" summary --follow --interval 5 || true
kill "$SIM_PID" 2>/dev/null || true
