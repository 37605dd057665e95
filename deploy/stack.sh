#!/usr/bin/env bash
# The local stack without Docker: Kafka 3.9 (KRaft, Java 17, jars from Maven Central),
# Redis, Prometheus and Alertmanager from Debian, plus the monitor's worker and exporter.
#
#   deploy/stack.sh install       apt packages (when missing), Kafka jars, .venv
#   deploy/stack.sh up            infra + topics + worker + exporter (starts only what is down)
#   deploy/stack.sh up-infra      Kafka, Redis, Prometheus, Alertmanager only
#   deploy/stack.sh down [SVC..]  stop everything (or the named services)
#   deploy/stack.sh reset         down, then delete all data and logs (keeps the Kafka jars)
#   deploy/stack.sh status        one line per service
#   deploy/stack.sh running       names of the services whose process is alive
#   deploy/stack.sh env           `export KPIMON_...` lines pointing the CLI at this stack
#
# Kafka security: KPIMON_STACK_KAFKA_SECURITY=SASL_SSL makes the broker listen SASL_SSL only
# (SCRAM-SHA-512, TLS with a self-signed CA made by openssl under var/kafka/tls; users created
# when the storage is formatted, so switch modes with `reset`). The client user is
# $KPIMON_STACK_KAFKA_USER (default kpimon) with $KPIMON_STACK_KAFKA_PASSWORD (default: random,
# kept in var/kafka/tls/client.env, mode 0600); the worker and exporter read it from that
# file through KPIMON_ENV_FILE, so no secret is ever on a command line. Default: PLAINTEXT.
#
# Everything lives under $KPIMON_STACK_DIR (default <repo>/var): data, var/log/<svc>.log,
# var/run/<svc>.pid. Ports come from KPIMON_STACK_*_PORT, so a second stack can run side by
# side with another KPIMON_STACK_DIR and other ports.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STACK_DIR="${KPIMON_STACK_DIR:-$REPO_ROOT/var}"
case "$STACK_DIR" in /*) ;; *) STACK_DIR="$PWD/$STACK_DIR" ;; esac

KAFKA_PORT="${KPIMON_STACK_KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KPIMON_STACK_KAFKA_CONTROLLER_PORT:-19093}"
REDIS_PORT="${KPIMON_STACK_REDIS_PORT:-6379}"
PROMETHEUS_PORT="${KPIMON_STACK_PROMETHEUS_PORT:-9090}"
ALERTMANAGER_PORT="${KPIMON_STACK_ALERTMANAGER_PORT:-9093}"
EXPORTER_PORT="${KPIMON_STACK_EXPORTER_PORT:-9464}"
WORKER_METRICS_PORT="${KPIMON_STACK_WORKER_METRICS_PORT:-9465}"
WORKER_WEB_PORT="${KPIMON_STACK_WORKER_WEB_PORT:-6066}"

JAVA_HOME_17="${KPIMON_STACK_JAVA_HOME:-/usr/lib/jvm/java-17-openjdk-amd64}"
JAVA="$JAVA_HOME_17/bin/java"
VENV="${KPIMON_STACK_VENV:-$REPO_ROOT/.venv}"
START_TIMEOUT="${KPIMON_STACK_TIMEOUT:-120}"
STOP_TIMEOUT="${KPIMON_STACK_STOP_TIMEOUT:-30}"

POM="$REPO_ROOT/deploy/kafka/pom.xml"
KAFKA_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$POM")"
KAFKA_DIR="$STACK_DIR/kafka"
KAFKA_LIBS="${KPIMON_STACK_KAFKA_LIBS:-$KAFKA_DIR/libs}"
KAFKA_SECURITY="${KPIMON_STACK_KAFKA_SECURITY:-PLAINTEXT}"
KAFKA_TLS_DIR="$KAFKA_DIR/tls"
KAFKA_USER="${KPIMON_STACK_KAFKA_USER:-kpimon}"
KAFKA_CLIENT_ENV="$KAFKA_TLS_DIR/client.env"
LOG_DIR="$STACK_DIR/log"
RUN_DIR="$STACK_DIR/run"

# Start order: the quick ones first, then Kafka (its storage format blocks for a JVM start).
INFRA_SERVICES=(redis alertmanager prometheus kafka)
APP_SERVICES=(worker exporter)
ALL_SERVICES=(kafka redis prometheus alertmanager "${APP_SERVICES[@]}")
STOP_ORDER=(exporter worker kafka prometheus alertmanager redis)

say() { printf '[stack] %s\n' "$*"; }
die() {
  printf '[stack] ERROR: %s\n' "$*" >&2
  exit 1
}

# --------------------------------------------------------------------------- per service

pidfile() { printf '%s/%s.pid' "$RUN_DIR" "$1"; }
logfile() { printf '%s/%s.log' "$LOG_DIR" "$1"; }

ports_of() {
  case "$1" in
    kafka) echo "$KAFKA_PORT $KAFKA_CONTROLLER_PORT" ;;
    redis) echo "$REDIS_PORT" ;;
    prometheus) echo "$PROMETHEUS_PORT" ;;
    alertmanager) echo "$ALERTMANAGER_PORT" ;;
    worker) echo "$WORKER_METRICS_PORT $WORKER_WEB_PORT" ;;
    exporter) echo "$EXPORTER_PORT" ;;
    *) die "unknown service: $1" ;;
  esac
}

address_of() {
  case "$1" in
    kafka) echo "127.0.0.1:$KAFKA_PORT (controller 127.0.0.1:$KAFKA_CONTROLLER_PORT)" ;;
    redis) echo "redis://127.0.0.1:$REDIS_PORT/0" ;;
    prometheus) echo "http://127.0.0.1:$PROMETHEUS_PORT" ;;
    alertmanager) echo "http://127.0.0.1:$ALERTMANAGER_PORT" ;;
    worker) echo "http://127.0.0.1:$WORKER_METRICS_PORT/metrics" ;;
    exporter) echo "http://127.0.0.1:$EXPORTER_PORT/metrics" ;;
  esac
}

# A word of the process's command line, so that a recycled pid is not taken for ours.
marker_of() {
  case "$1" in
    kafka) echo "kafka.Kafka" ;;
    redis) echo "redis-server" ;;
    prometheus) echo "prometheus --config.file" ;;
    alertmanager) echo "alertmanager" ;;
    worker) echo "kpimon worker" ;;
    exporter) echo "kpimon exporter" ;;
  esac
}

read_pid() {
  local file
  file="$(pidfile "$1")"
  [[ -s "$file" ]] && cat "$file"
}

# The process in the pid file exists (not a zombie) and is the expected program.
alive() {
  local pid cmdline
  pid="$(read_pid "$1")" || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [[ -r "/proc/$pid/cmdline" ]] || return 1
  cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
  [[ "$cmdline" == *"$(marker_of "$1")"* ]]
}

port_open() { (: <"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

port_owner() {
  if command -v ss >/dev/null 2>&1; then
    ss -Hltnp "sport = :$1" 2>/dev/null | sed -n 's/.*users:((\(.*\)))/\1/p' | head -1
  fi
}

http_ok() { curl -fsS -m 3 -o /dev/null "$1" 2>/dev/null; }

# Kafka is ready when a client can bootstrap, fetch metadata and see a broker.
KAFKA_READY_PY='
import logging, sys
logging.disable(logging.CRITICAL)
from kafka import KafkaAdminClient
security = {}
if len(sys.argv) > 2:  # SASL_SSL: CA file, user and the env file holding the password
    password = [line.split("=", 1)[1].strip() for line in open(sys.argv[4])
                if line.startswith("KPIMON_KAFKA__SASL_PASSWORD=")][0]
    security = dict(security_protocol="SASL_SSL", ssl_cafile=sys.argv[2],
                    sasl_mechanism="SCRAM-SHA-512", sasl_plain_username=sys.argv[3],
                    sasl_plain_password=password)
admin = KafkaAdminClient(bootstrap_servers=sys.argv[1], client_id="kpimon-stack-health",
                         request_timeout_ms=5000, **security)
try:
    admin.list_topics()
    sys.exit(0 if admin.describe_cluster().get("brokers") else 1)
finally:
    admin.close()
'

healthy() {
  case "$1" in
    kafka)
      port_open "$KAFKA_PORT" &&
        timeout 20 "$VENV/bin/python" -c "$KAFKA_READY_PY" "127.0.0.1:$KAFKA_PORT" \
          $(kafka_health_args) >/dev/null 2>&1
      ;;
    redis) [[ "$(timeout 5 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" == PONG ]] ;;
    prometheus) http_ok "http://127.0.0.1:$PROMETHEUS_PORT/-/ready" ;;
    alertmanager) http_ok "http://127.0.0.1:$ALERTMANAGER_PORT/-/ready" ;;
    worker) http_ok "http://127.0.0.1:$WORKER_METRICS_PORT/metrics" ;;
    exporter) http_ok "http://127.0.0.1:$EXPORTER_PORT/metrics" ;;
  esac
}

log_tail() {
  local file
  file="$(logfile "$1")"
  if [[ -f "$file" ]]; then
    printf -- '----- last lines of %s -----\n' "$file" >&2
    tail -n "${2:-40}" "$file" >&2
    printf -- '-----\n' >&2
  fi
}

# Start "$@" detached (own session, so Ctrl-C in a terminal or the end of `make` or pytest
# does not reach it), stdout/stderr appended to the service log, pid in the pid file.
launch() {
  local svc="$1"
  shift
  mkdir -p "$LOG_DIR" "$RUN_DIR"
  printf '\n===== %s: starting %s =====\n' "$(date -Is)" "$svc" >>"$(logfile "$svc")"
  (cd "$REPO_ROOT" && exec setsid "$@" >>"$(logfile "$svc")" 2>&1 </dev/null) &
  echo "$!" >"$(pidfile "$svc")"
}

# --------------------------------------------------------------------------- install

apt_install() {
  local sudo=()
  if [[ "$(id -u)" != 0 ]]; then
    command -v sudo >/dev/null 2>&1 || die "need root (or sudo) to apt-get install: $*"
    sudo=(sudo)
  fi
  # Debian starts services on install unless policy-rc.d says no; ours run from var/ instead.
  local policy=/usr/sbin/policy-rc.d added_policy=0
  if [[ ! -e "$policy" ]]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
    "${sudo[@]}" chmod 755 "$policy"
    added_policy=1
  fi
  say "apt-get install $*"
  local rc=0
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q || rc=$?
  if [[ $rc == 0 ]]; then
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -q --no-install-recommends "$@" || rc=$?
  fi
  if [[ $added_policy == 1 ]]; then "${sudo[@]}" rm -f "$policy"; fi
  [[ $rc == 0 ]] || die "apt-get failed (exit $rc)"
}

install_system() {
  local -a need=()
  local pair bin pkg
  for pair in redis-server:redis-server redis-cli:redis-tools prometheus:prometheus \
    promtool:prometheus prometheus-alertmanager:prometheus-alertmanager \
    amtool:prometheus-alertmanager docker-compose:docker-compose mvn:maven curl:curl \
    ss:iproute2 setsid:util-linux timeout:coreutils; do
    bin="${pair%%:*}"
    pkg="${pair#*:}"
    command -v "$bin" >/dev/null 2>&1 || need+=("$pkg")
  done
  [[ -x "$JAVA" ]] || need+=(openjdk-17-jre-headless)
  if [[ ${#need[@]} -gt 0 ]]; then
    mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
    apt_install "${need[@]}"
  fi
}

kafka_libs_complete() {
  local jar v="$KAFKA_VERSION"
  [[ -d "$KAFKA_LIBS" ]] || return 1
  for jar in "kafka_2.13-$v.jar" "kafka-clients-$v.jar" "kafka-server-$v.jar" \
    "kafka-server-common-$v.jar" "kafka-raft-$v.jar" "kafka-metadata-$v.jar" \
    "kafka-storage-$v.jar" "kafka-group-coordinator-$v.jar"; do
    [[ -f "$KAFKA_LIBS/$jar" ]] || return 1
  done
  compgen -G "$KAFKA_LIBS/argparse4j-*.jar" >/dev/null || return 1
  compgen -G "$KAFKA_LIBS/slf4j-reload4j-*.jar" >/dev/null || return 1
  compgen -G "$KAFKA_LIBS/reload4j-*.jar" >/dev/null || return 1
  compgen -G "$KAFKA_LIBS/scala-library-*.jar" >/dev/null || return 1
  # one version for every Apache Kafka artifact
  if find "$KAFKA_LIBS" -maxdepth 1 -name 'kafka*.jar' ! -name "*-$v.jar" | grep -q .; then
    return 1
  fi
}

install_kafka_libs() {
  local stamp="$KAFKA_LIBS/.resolved" want
  want="$(sha256sum "$POM" | cut -d' ' -f1)"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]] && kafka_libs_complete; then
    return 0
  fi
  say "resolving Kafka $KAFKA_VERSION jars with Maven into $KAFKA_LIBS (cache: ~/.m2)"
  rm -rf "$KAFKA_LIBS"
  mkdir -p "$KAFKA_LIBS"
  mkdir -p "$LOG_DIR"
  local mvn_log="$LOG_DIR/install-kafka-libs.log"
  JAVA_HOME="$JAVA_HOME_17" mvn -B -Dstyle.color=never -f "$POM" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$KAFKA_LIBS" \
    >"$mvn_log" 2>&1 || {
    tail -n 40 "$mvn_log" >&2
    die "mvn could not resolve the Kafka jars (log: $mvn_log)"
  }
  kafka_libs_complete || die "Kafka jars in $KAFKA_LIBS are incomplete or mixed versions"
  echo "$want" >"$stamp"
}

find_python() {
  local candidate
  for candidate in "${KPIMON_PYTHON:-}" python3 python3.13 python3.12 python3.11 /usr/bin/python3; do
    [[ -n "$candidate" ]] || continue
    command -v "$candidate" >/dev/null 2>&1 || continue
    if "$candidate" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))' \
      2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

# full=1: reinstall when pyproject.toml is newer than the stamp; full=0: only when missing.
install_venv() {
  local full="$1" stamp="$VENV/.kpimon-installed" python
  if [[ ! -x "$VENV/bin/python" ]]; then
    python="$(find_python)" || {
      apt_install python3-venv
      python="$(find_python)" || die "no Python >= 3.11 with venv support"
    }
    say "creating $VENV with $python"
    "$python" -m venv "$VENV"
  fi
  if [[ ! -f "$stamp" ]] || { [[ "$full" == 1 ]] && [[ "$REPO_ROOT/pyproject.toml" -nt "$stamp" ]]; }; then
    mkdir -p "$LOG_DIR"
    local pip_log="$LOG_DIR/install-venv.log"
    say "pip install -e '.[dev]' into $VENV (log: $pip_log)"
    "$VENV/bin/python" -m pip install --disable-pip-version-check -e "${REPO_ROOT}[dev]" \
      >"$pip_log" 2>&1 || {
      tail -n 40 "$pip_log" >&2
      die "pip install failed (log: $pip_log)"
    }
    touch "$stamp"
  fi
}

cmd_install() {
  install_system
  install_kafka_libs
  install_venv 1
  say "installed: system packages, Kafka $KAFKA_VERSION jars ($KAFKA_LIBS), $VENV"
}

# --------------------------------------------------------------------------- configs

kafka_secure() { [[ "$KAFKA_SECURITY" == SASL_SSL ]]; }

kafka_health_args() {
  if kafka_secure; then echo "$KAFKA_TLS_DIR/ca.pem $KAFKA_USER $KAFKA_CLIENT_ENV"; fi
}

random_secret() { "$VENV/bin/python" -c 'import secrets; print(secrets.token_urlsafe(24))'; }

# SASL_SSL material, made once: CA + server certificate for 127.0.0.1 (PEM, Kafka's PEM
# keystore), the inter-broker admin password and the client env file (0600).
make_kafka_tls() {
  case "$KAFKA_SECURITY" in
    PLAINTEXT | SASL_SSL) ;;
    *) die "KPIMON_STACK_KAFKA_SECURITY must be PLAINTEXT or SASL_SSL" ;;
  esac
  kafka_secure || return 0
  [[ -s "$KAFKA_TLS_DIR/server-keystore.pem" && -s "$KAFKA_CLIENT_ENV" ]] && return 0
  command -v openssl >/dev/null || die "openssl is needed for KPIMON_STACK_KAFKA_SECURITY=SASL_SSL"
  mkdir -p "$KAFKA_TLS_DIR"
  chmod 700 "$KAFKA_TLS_DIR"
  local client_password="${KPIMON_STACK_KAFKA_PASSWORD:-}"
  [[ -n "$client_password" ]] || client_password="$(random_secret)"
  (
    cd "$KAFKA_TLS_DIR"
    umask 077
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >san.ext
    openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj /CN=kpimon-local-ca \
      -keyout ca.key -out ca.pem 2>/dev/null
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out server.key 2>/dev/null
    openssl req -new -key server.key -subj /CN=127.0.0.1 -out server.csr 2>/dev/null
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 825 \
      -extfile san.ext -out server.crt 2>/dev/null
    cat server.key server.crt >server-keystore.pem
    random_secret >admin.password
    printf '%s\n' "KPIMON_KAFKA__SECURITY_PROTOCOL=SASL_SSL" \
      "KPIMON_KAFKA__SASL_MECHANISM=SCRAM-SHA-512" "KPIMON_KAFKA__SASL_USERNAME=$KAFKA_USER" \
      "KPIMON_KAFKA__SASL_PASSWORD=$client_password" \
      "KPIMON_KAFKA__SSL_CAFILE=$KAFKA_TLS_DIR/ca.pem" >client.env
  ) || die "could not make the Kafka TLS material in $KAFKA_TLS_DIR"
  chmod 644 "$KAFKA_TLS_DIR/ca.pem"
}

kafka_listener_config() {
  if kafka_secure; then
    printf '%s\n' \
      "listeners=SASL_SSL://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT" \
      "advertised.listeners=SASL_SSL://127.0.0.1:$KAFKA_PORT" \
      "inter.broker.listener.name=SASL_SSL" \
      "listener.security.protocol.map=CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL" \
      "sasl.enabled.mechanisms=SCRAM-SHA-512" \
      "sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512" \
      "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username=\"admin\" password=\"$(cat "$KAFKA_TLS_DIR/admin.password")\";" \
      "ssl.keystore.type=PEM" \
      "ssl.keystore.location=$KAFKA_TLS_DIR/server-keystore.pem" \
      "ssl.truststore.type=PEM" \
      "ssl.truststore.location=$KAFKA_TLS_DIR/ca.pem" \
      "ssl.client.auth=none"
  else
    printf '%s\n' \
      "listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT" \
      "advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT" \
      "inter.broker.listener.name=PLAINTEXT" \
      "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT"
  fi
}

write_kafka_config() {
  mkdir -p "$KAFKA_DIR/data"
  make_kafka_tls
  local listener_config
  listener_config="$(kafka_listener_config)"
  # umask: the SASL_SSL config holds the inter-broker password.
  (umask 077 && cat >"$KAFKA_DIR/server.properties") <<EOF
# Generated by deploy/stack.sh; edits are overwritten.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
controller.listener.names=CONTROLLER
$listener_config
log.dirs=$KAFKA_DIR/data
num.partitions=4
default.replication.factor=1
min.insync.replicas=1
auto.create.topics.enable=true
offsets.topic.num.partitions=4
offsets.topic.replication.factor=1
transaction.state.log.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
num.network.threads=3
num.io.threads=4
log.retention.hours=168
log.segment.bytes=268435456
EOF
  cat >"$KAFKA_DIR/log4j.properties" <<'EOF'
# Generated by deploy/stack.sh: everything to stdout, which stack.sh appends to var/log/kafka.log.
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.org.apache.kafka.clients=WARN
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.authorizer.logger=WARN
EOF
}

kafka_jvm() {
  printf '%s\n' "$JAVA" -Xms256m -Xmx512m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    "-Dlog4j.configuration=file:$KAFKA_DIR/log4j.properties" "-Dkafka.logs.dir=$LOG_DIR" \
    -cp "$KAFKA_LIBS/*"
}

kafka_java() {
  local -a jvm
  mapfile -t jvm < <(kafka_jvm)
  "${jvm[@]}" "$@"
}

# Generate the cluster id once, format the storage once. The quorum is static
# (controller.quorum.voters), so no --standalone / --initial-controllers.
format_kafka() {
  local id_file="$KAFKA_DIR/cluster.id"
  if [[ ! -s "$id_file" ]]; then
    # What `kafka-storage random-uuid` prints (base64url of 16 random bytes, not starting
    # with "-"), without paying for a JVM start.
    "$VENV/bin/python" -c '
import base64, uuid
while True:
    cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
    if not cid.startswith("-"):
        print(cid)
        break
' >"$id_file.tmp"
    mv "$id_file.tmp" "$id_file"
  fi
  local -a scram=()
  if kafka_secure; then
    local client_password
    client_password="$(sed -n 's/^KPIMON_KAFKA__SASL_PASSWORD=//p' "$KAFKA_CLIENT_ENV")"
    scram=(--add-scram "SCRAM-SHA-512=[name=admin,password=$(cat "$KAFKA_TLS_DIR/admin.password")]"
      --add-scram "SCRAM-SHA-512=[name=$KAFKA_USER,password=$client_password]")
  fi
  local mode_file="$KAFKA_DIR/data/.security" formatted_for
  if [[ -f "$KAFKA_DIR/data/meta.properties" ]]; then
    formatted_for="$(cat "$mode_file" 2>/dev/null || echo PLAINTEXT)"
    [[ "$formatted_for" == "$KAFKA_SECURITY" ]] ||
      die "kafka storage was formatted for $formatted_for, not $KAFKA_SECURITY: run \`deploy/stack.sh reset\` first"
  fi
  if [[ ! -f "$KAFKA_DIR/data/meta.properties" ]]; then
    kafka_java kafka.tools.StorageTool format --ignore-formatted \
      --cluster-id "$(cat "$id_file")" --config "$KAFKA_DIR/server.properties" "${scram[@]}" \
      >>"$(logfile kafka)" 2>&1 || {
      log_tail kafka
      die "kafka storage format failed"
    }
    echo "$KAFKA_SECURITY" >"$mode_file"
  fi
}

write_redis_config() {
  mkdir -p "$STACK_DIR/redis"
  cat >"$STACK_DIR/redis/redis.conf" <<EOF
# Generated by deploy/stack.sh; edits are overwritten.
bind 127.0.0.1
protected-mode yes
port $REDIS_PORT
daemonize no
logfile ""
dir $STACK_DIR/redis
# The monitor's state must survive a Redis restart without loss.
appendonly yes
appendfsync always
save 300 1
EOF
}

# deploy/prometheus/prometheus.yml holds the default ports; this copy has the configured ones.
write_prometheus_config() {
  mkdir -p "$STACK_DIR/prometheus/data" "$STACK_DIR/prometheus/targets/prometheus" \
    "$STACK_DIR/prometheus/targets/kpimon-exporter" "$STACK_DIR/prometheus/targets/kpimon-worker"
  sed -e "s#127\.0\.0\.1:9090#127.0.0.1:$PROMETHEUS_PORT#g" \
    -e "s#127\.0\.0\.1:9093#127.0.0.1:$ALERTMANAGER_PORT#g" \
    -e "s#127\.0\.0\.1:9464#127.0.0.1:$EXPORTER_PORT#g" \
    -e "s#127\.0\.0\.1:9465#127.0.0.1:$WORKER_METRICS_PORT#g" \
    -e "s#\.\./\.\./alerts/prometheus/#$REPO_ROOT/alerts/prometheus/#g" \
    -e "s#\.\./\.\./var/prometheus/#$STACK_DIR/prometheus/#g" \
    "$REPO_ROOT/deploy/prometheus/prometheus.yml" >"$STACK_DIR/prometheus/prometheus.yml"
}

# Environment of the monitor's processes: point every client at this stack.
app_env() {
  cat <<EOF
KPIMON_KAFKA__BOOTSTRAP_SERVERS=127.0.0.1:$KAFKA_PORT
KPIMON_REDIS__URL=redis://127.0.0.1:$REDIS_PORT/0
KPIMON_ALERTS__ALERTMANAGER_URL=http://127.0.0.1:$ALERTMANAGER_PORT
KPIMON_EXPORTER__HOST=127.0.0.1
KPIMON_EXPORTER__PORT=$EXPORTER_PORT
KPIMON_WORKER__HOST=127.0.0.1
KPIMON_WORKER__METRICS_PORT=$WORKER_METRICS_PORT
KPIMON_WORKER__WEB_PORT=$WORKER_WEB_PORT
KPIMON_WORKER__DATA_DIR=$STACK_DIR/worker
EOF
  if kafka_secure; then echo "KPIMON_ENV_FILE=$KAFKA_CLIENT_ENV"; fi
}

# --------------------------------------------------------------------------- start / stop

start_service() {
  local svc="$1"
  case "$svc" in
    kafka)
      write_kafka_config
      format_kafka
      local -a jvm
      mapfile -t jvm < <(kafka_jvm)
      launch kafka "${jvm[@]}" kafka.Kafka "$KAFKA_DIR/server.properties"
      ;;
    redis)
      write_redis_config
      launch redis redis-server "$STACK_DIR/redis/redis.conf"
      ;;
    prometheus)
      write_prometheus_config
      launch prometheus prometheus \
        "--config.file=$STACK_DIR/prometheus/prometheus.yml" \
        "--storage.tsdb.path=$STACK_DIR/prometheus/data" \
        "--web.listen-address=127.0.0.1:$PROMETHEUS_PORT" \
        --web.enable-lifecycle
      ;;
    alertmanager)
      mkdir -p "$STACK_DIR/alertmanager"
      launch alertmanager prometheus-alertmanager \
        "--config.file=$REPO_ROOT/alerts/alertmanager.yml" \
        "--storage.path=$STACK_DIR/alertmanager" \
        "--web.listen-address=127.0.0.1:$ALERTMANAGER_PORT" \
        --cluster.listen-address=
      ;;
    worker | exporter)
      require_cli_command "$svc"
      mkdir -p "$STACK_DIR/worker"
      local -a env_args
      mapfile -t env_args < <(app_env)
      launch "$svc" env "${env_args[@]}" "$VENV/bin/kpimon" "$svc"
      ;;
  esac
}

cli_has() {
  "$VENV/bin/python" -c \
    'import importlib.util, sys; sys.exit(importlib.util.find_spec("streams.cli." + sys.argv[1]) is None)' \
    "$1" 2>/dev/null
}

require_cli_command() {
  cli_has "$1" || die "\`kpimon $1\` does not exist yet (streams/cli/$1.py); use up-infra"
}

# A running Prometheus re-reads its (re-rendered) config and the rule files on every `up`.
reload_prometheus() {
  alive prometheus && healthy prometheus || return 0
  write_prometheus_config
  if curl -fsS -m 10 -X POST -o /dev/null "http://127.0.0.1:$PROMETHEUS_PORT/-/reload" 2>/dev/null; then
    say "prometheus: config and rules reloaded"
  else
    say "WARNING: prometheus rejected the reload (bad config or rules?); it keeps the old ones." \
      "See $(logfile prometheus)"
  fi
}

# Start the service unless its process is alive (a live but not yet healthy one is left to
# wait_healthy); refuse to start on a port held by a process that is not ours.
ensure_started() {
  local svc="$1" port owner
  if alive "$svc"; then
    return 0
  fi
  rm -f "$(pidfile "$svc")"
  for port in $(ports_of "$svc"); do
    if port_open "$port"; then
      owner="$(port_owner "$port")"
      die "$svc: port $port is already in use by a process this stack did not start${owner:+ ($owner)}; stop it or set KPIMON_STACK_*_PORT"
    fi
  done
  say "starting $svc"
  start_service "$svc"
}

wait_healthy() {
  local svc="$1" deadline="$2"
  while true; do
    if ! alive "$svc"; then
      log_tail "$svc"
      die "$svc exited during start-up (log: $(logfile "$svc"))"
    fi
    if healthy "$svc"; then
      return 0
    fi
    if ((SECONDS >= deadline)); then
      log_tail "$svc"
      die "$svc not healthy after ${START_TIMEOUT}s (log: $(logfile "$svc"))"
    fi
    sleep 0.5
  done
}

stop_service() {
  local svc="$1" pid waited=0
  if ! alive "$svc"; then
    rm -f "$(pidfile "$svc")"
    return 0
  fi
  pid="$(read_pid "$svc")"
  say "stopping $svc (pid $pid)"
  # setsid made the service a process group leader: signal the whole group.
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  while alive "$svc" && ((waited < STOP_TIMEOUT * 10)); do
    sleep 0.1
    waited=$((waited + 1))
  done
  if alive "$svc"; then
    say "$svc did not stop after ${STOP_TIMEOUT}s: SIGKILL"
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    sleep 0.5
  fi
  rm -f "$(pidfile "$svc")"
}

status_line() {
  local svc="$1" state pid="-"
  if alive "$svc"; then
    pid="$(read_pid "$svc")"
    if healthy "$svc"; then state=healthy; else state=unhealthy; fi
  elif [[ -s "$(pidfile "$svc")" ]]; then
    state="crashed"
  else
    state=stopped
  fi
  printf '  %-13s %-10s pid %-8s %s\n' "$svc" "$state" "$pid" "$(address_of "$svc")"
}

cmd_up() {
  local with_apps="$1" svc deadline
  mkdir -p "$STACK_DIR" "$LOG_DIR" "$RUN_DIR"
  install_system
  install_kafka_libs
  install_venv 0
  local -a services=("${INFRA_SERVICES[@]}")
  reload_prometheus
  for svc in "${services[@]}"; do ensure_started "$svc"; done
  deadline=$((SECONDS + START_TIMEOUT))
  for svc in "${services[@]}"; do wait_healthy "$svc" "$deadline"; done
  if [[ "$with_apps" == 1 ]]; then
    if cli_has topics; then
      say "creating topics (kpimon topics create)"
      local -a env_args
      mapfile -t env_args < <(app_env)
      (cd "$REPO_ROOT" && env "${env_args[@]}" "$VENV/bin/kpimon" topics create) ||
        die "kpimon topics create failed"
    else
      say "WARNING: \`kpimon topics\` does not exist yet; topics will be auto-created"
    fi
    for svc in "${APP_SERVICES[@]}"; do ensure_started "$svc"; done
    deadline=$((SECONDS + START_TIMEOUT))
    for svc in "${APP_SERVICES[@]}"; do wait_healthy "$svc" "$deadline"; done
    services+=("${APP_SERVICES[@]}")
  fi
  say "up (stack dir $STACK_DIR, logs in $LOG_DIR):"
  for svc in "${services[@]}"; do status_line "$svc"; done
}

cmd_down() {
  local svc
  local -a wanted=("$@")
  [[ ${#wanted[@]} -gt 0 ]] || wanted=("${ALL_SERVICES[@]}")
  for svc in "${wanted[@]}"; do ports_of "$svc" >/dev/null; done # validates names
  for svc in "${STOP_ORDER[@]}"; do
    if [[ " ${wanted[*]} " == *" $svc "* ]]; then stop_service "$svc"; fi
  done
}

cmd_reset() {
  cmd_down
  [[ -n "$STACK_DIR" && "$STACK_DIR" != / ]] || die "refusing to reset STACK_DIR=$STACK_DIR"
  say "deleting data and logs under $STACK_DIR (keeping the Kafka jars)"
  rm -rf "$KAFKA_DIR/data" "$KAFKA_DIR/cluster.id" "$KAFKA_DIR/server.properties" "$KAFKA_TLS_DIR" \
    "$KAFKA_DIR/log4j.properties" "$STACK_DIR/redis" "$STACK_DIR/prometheus" \
    "$STACK_DIR/alertmanager" "$STACK_DIR/worker" "$LOG_DIR" "$RUN_DIR"
}

cmd_status() {
  local svc
  say "stack dir $STACK_DIR (logs in $LOG_DIR):"
  for svc in "${ALL_SERVICES[@]}"; do status_line "$svc"; done
}

cmd_running() {
  local svc
  for svc in "${ALL_SERVICES[@]}"; do
    if alive "$svc"; then echo "$svc"; fi
  done
}

cmd_env() {
  local line
  while IFS= read -r line; do printf 'export %q\n' "$line"; done < <(app_env)
}

usage() {
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
}

main() {
  local cmd="${1:-}"
  [[ $# -gt 0 ]] && shift
  case "$cmd" in
    install) cmd_install ;;
    up) cmd_up 1 ;;
    up-infra) cmd_up 0 ;;
    down) cmd_down "$@" ;;
    reset) cmd_reset ;;
    status) cmd_status ;;
    running) cmd_running ;;
    env) cmd_env ;;
    -h | --help | help) usage ;;
    *)
      usage >&2
      exit 2
      ;;
  esac
}

main "$@"
