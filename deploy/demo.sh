#!/usr/bin/env bash
# `make demo`: the whole local stack (Kafka, Redis, Prometheus, Alertmanager, worker,
# exporter), then a simulated supply chain publishing into it in the foreground.
# Ctrl-C stops the simulator and every service this script started (services that were
# already running before are left running).
#
#   KPIMON_DEMO_ORDERS_PER_HOUR   orders per location and hour of the simulator (default 60;
#                                 20 for the adaptive-rollout scenario)
#   KPIMON_DEMO_SCENARIO          steady (default): three days of history, then live;
#                                 adaptive-rollout (`make demo SCENARIO=adaptive-rollout`):
#                                 60 days of history, blanket safety buffers for the first
#                                 30, the model's per-SKU buffers for half the SKU-locations
#                                 since, so the 30d window against its prior shows the
#                                 insights and the model/planner cohorts (SPEC §4.3)
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

case "${KPIMON_DEMO_SCENARIO:-steady}" in
  steady)
    HISTORY=now-3d HISTORY_TEXT="three days of history" ORDERS_PER_HOUR=60 SCENARIO_ARGS=() ;;
  adaptive-rollout)
    HISTORY=now-60d ORDERS_PER_HOUR=20 SCENARIO_ARGS=(--scenario adaptive-rollout)
    HISTORY_TEXT="60 days of an adaptive-planning rollout (the model's buffers for the last 30)" ;;
  *)
    echo "demo: KPIMON_DEMO_SCENARIO must be steady or adaptive-rollout" >&2
    exit 2 ;;
esac

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
 Simulating ${HISTORY_TEXT}, then a live supply chain. Ctrl-C to stop.
==================================================================================
EOT
# History first (so every windowed KPI has data), then live events stamped with the
# current time; the simulator runs in the background, the live summary in front.
SIM_LOG="${KPIMON_STACK_DIR:-var}/log/simulator.log"
"${KPIMON_STACK_VENV:-.venv}/bin/kpimon" simulate --start "$HISTORY" --follow "${SCENARIO_ARGS[@]}" \
  --orders-per-hour "${KPIMON_DEMO_ORDERS_PER_HOUR:-$ORDERS_PER_HOUR}" >"$SIM_LOG" 2>&1 &
SIM_PID=$!
trap 'kill "$SIM_PID" 2>/dev/null || true; exit 130' INT TERM
echo "simulator running (pid $SIM_PID, log $SIM_LOG); live summary follows"
sleep 5
"${KPIMON_STACK_VENV:-.venv}/bin/kpimon" summary --follow --interval 5 || true
kill "$SIM_PID" 2>/dev/null || true
