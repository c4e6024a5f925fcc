#!/usr/bin/env bash
# Local single-node Apache Kafka broker (KRaft) for development, the demo and the test suite.
#
#   deploy/kafka/broker.sh fetch    resolve the broker jars from Maven Central with mvn (cached)
#   deploy/kafka/broker.sh start    fetch if needed, format storage once, start, wait until it answers
#   deploy/kafka/broker.sh stop     stop it cleanly (SIGTERM, then wait)
#   deploy/kafka/broker.sh status   exit 0 when a broker answers on the bootstrap address
#   deploy/kafka/broker.sh reset    stop and delete the data directory
#
# Environment: SX_KAFKA_HOME (data, logs, pid; default <repo>/.kafka), SX_KAFKA_PORT (default 9092),
# SX_KAFKA_CONTROLLER_PORT (default 9093), SX_KAFKA_CACHE (jar cache; default ~/.cache/sourcing-exchange).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
KAFKA_VERSION=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/pom.xml")
home=${SX_KAFKA_HOME:-$repo/.kafka}
port=${SX_KAFKA_PORT:-9092}
cport=${SX_KAFKA_CONTROLLER_PORT:-9093}
cache=${SX_KAFKA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sourcing-exchange}/kafka-$KAFKA_VERSION
libs=$cache/libs
pidfile=$home/broker.pid

log() { echo "[broker] $*" >&2; }

# A KRaft cluster id: 16 random bytes, URL-safe base64. Never one starting with "-", which the storage
# tool's argument parser would take for an option (Kafka's own Uuid.randomUuid avoids it the same way;
# about one id in 64 would, and a fresh-clone CI run met one).
cluster_id() {
  python3 -c 'import base64, uuid
while (i := base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")).startswith("-"): pass
print(i)'
}

fetch() {
  if [ -f "$libs/.complete" ]; then return 0; fi
  command -v mvn >/dev/null || { log "mvn is required to fetch Kafka $KAFKA_VERSION"; exit 1; }
  command -v java >/dev/null || { log "java (17+) is required to run Kafka $KAFKA_VERSION"; exit 1; }
  log "fetching org.apache.kafka:kafka_2.13:$KAFKA_VERSION and its dependencies into $libs"
  rm -rf "$libs"; mkdir -p "$libs"
  mvn -q -B -f "$here/pom.xml" dependency:copy-dependencies \
      -DoutputDirectory="$libs" -DincludeScope=runtime
  touch "$libs/.complete"
}

answering() {
  # A TCP connect is not enough: the broker accepts connections before it serves metadata.
  python3 - "$port" <<'PY'
import socket, struct, sys
port = int(sys.argv[1])
try:
    s = socket.create_connection(("127.0.0.1", port), timeout=2)
    # ApiVersions v0 request: api_key=18, version=0, correlation_id=1, client_id="probe"
    body = struct.pack(">hhih", 18, 0, 1, 5) + b"probe"
    s.sendall(struct.pack(">i", len(body)) + body)
    s.settimeout(2)
    size = struct.unpack(">i", s.recv(4))[0]
    data = b""
    while len(data) < size:
        chunk = s.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    corr, err = struct.unpack(">ih", data[:6])
    sys.exit(0 if corr == 1 and err in (0, 35) else 1)
except Exception:
    sys.exit(1)
PY
}

write_config() {
  mkdir -p "$home/data" "$home/logs"
  cat > "$home/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$home/data
num.partitions=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
log.cleaner.min.compaction.lag.ms=0
log.segment.bytes=16777216
PROPS
  cat > "$home/log4j2.yaml" <<'YAML'
Configuration:
  Appenders:
    File:
      name: file
      fileName: "${sys:kafka.logs.dir}/server.log"
      PatternLayout: { pattern: "[%d] %p %m (%c)%n" }
  Loggers:
    Root: { level: INFO, AppenderRef: [ { ref: file } ] }
    Logger:
      - { name: kafka.request.logger, level: WARN }
      - { name: org.apache.kafka.controller, level: WARN }
      - { name: state.change.logger, level: WARN }
YAML
}

running_pid() {
  [ -f "$pidfile" ] || return 1
  local pid; pid=$(cat "$pidfile")
  kill -0 "$pid" 2>/dev/null && echo "$pid"
}

start() {
  if answering; then log "a broker already answers on 127.0.0.1:$port"; return 0; fi
  fetch
  write_config
  if [ ! -f "$home/data/meta.properties" ]; then
    log "formatting KRaft storage in $home/data"
    java -cp "$libs/*" -Dlog4j2.configurationFile="$home/log4j2.yaml" -Dkafka.logs.dir="$home/logs" \
      kafka.tools.StorageTool format --standalone -t "$(cluster_id)" \
      -c "$home/server.properties" >"$home/logs/format.log" 2>&1 || { cat "$home/logs/format.log" >&2; exit 1; }
  fi
  log "starting Kafka $KAFKA_VERSION on 127.0.0.1:$port (data in $home/data)"
  nohup java -Xms256m -Xmx1g -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$home/log4j2.yaml" -Dkafka.logs.dir="$home/logs" \
    -cp "$libs/*" kafka.Kafka "$home/server.properties" >"$home/logs/stdout.log" 2>&1 &
  echo $! > "$pidfile"
  local deadline=$((SECONDS + 90))
  until answering; do
    if ! running_pid >/dev/null; then log "broker exited; see $home/logs"; tail -20 "$home/logs/stdout.log" >&2; exit 1; fi
    if [ $SECONDS -ge $deadline ]; then log "broker did not answer within 90 s; see $home/logs"; exit 1; fi
    sleep 0.5
  done
  log "ready: KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:$port"
}

stop() {
  local pid
  if ! pid=$(running_pid); then log "not running"; rm -f "$pidfile"; return 0; fi
  kill -TERM "$pid"
  local deadline=$((SECONDS + 60))
  while kill -0 "$pid" 2>/dev/null; do
    if [ $SECONDS -ge $deadline ]; then log "broker ignored SIGTERM for 60 s; killing"; kill -KILL "$pid"; fi
    sleep 0.2
  done
  rm -f "$pidfile"
  log "stopped"
}

case "${1:-}" in
  fetch) fetch ;;
  start) start ;;
  stop) stop ;;
  status) answering ;;
  reset) stop; rm -rf "$home/data" ;;
  *) echo "usage: $0 fetch|start|stop|status|reset" >&2; exit 2 ;;
esac
