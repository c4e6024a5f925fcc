#!/usr/bin/env bash
# Local single-node Apache Kafka broker (KRaft) for development, the demo and the test suite.
#
#   deploy/kafka/broker.sh fetch    resolve the broker jars from Maven Central with mvn (cached)
#   deploy/kafka/broker.sh start    fetch if needed, format storage once, start, wait until it answers
#   deploy/kafka/broker.sh stop     stop it cleanly (SIGTERM, then wait)
#   deploy/kafka/broker.sh status   exit 0 when a broker answers on the bootstrap address
#   deploy/kafka/broker.sh reset    stop and delete the data directories
#   deploy/kafka/broker.sh env      print the client environment of a principal (default sx-admin)
#
# Secured by default: the client listener takes SASL/SCRAM-SHA-512 only, and Kafka's StandardAuthorizer
# denies whatever no ACL allows (`python -m services.acls` declares and creates them; docs/security.md).
# One principal per platform, per service and for set-up (sx-admin, the only super user); each one's
# password is generated on first start into $SX_KAFKA_SECRETS/<principal>.password (mode 600, never in
# the repository) unless that file exists already, and registered when the storage is formatted. The
# controller listener takes SASL/PLAIN for the broker's own requests only. `start --plaintext` (or
# SX_KAFKA_PLAINTEXT=1) runs an unsecured broker instead, for local debugging; its data is kept apart.
#
# Environment: SX_KAFKA_HOME (data, logs, pid; default <repo>/.kafka), SX_KAFKA_PORT (default 9092),
# SX_KAFKA_CONTROLLER_PORT (default 9093), SX_KAFKA_CACHE (jar cache; default ~/.cache/sourcing-exchange),
# SX_KAFKA_SECRETS (password files; default $SX_KAFKA_HOME/secrets).
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
secrets=${SX_KAFKA_SECRETS:-$home/secrets}
PRINCIPALS="sx-admin sx-ingest sx-normalize sx-aggregate sx-deliver sedex amfori"
mode=secured
if [ "${SX_KAFKA_PLAINTEXT:-}" = 1 ] || [ "${2:-}" = --plaintext ]; then mode=plaintext; fi
data=$home/data
[ "$mode" = secured ] && data=$home/data-sasl

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

password() { cat "$secrets/$1.password"; }

make_secrets() {
  mkdir -p "$secrets"; chmod 700 "$secrets"
  local name
  for name in $PRINCIPALS controller; do
    if [ ! -s "$secrets/$name.password" ]; then
      (umask 077; python3 -c 'import secrets; print(secrets.token_urlsafe(24))' > "$secrets/$name.password")
    fi
  done
}

security_config() {
  if [ "$mode" = plaintext ]; then
    cat <<PROPS
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
PROPS
    return
  fi
  local admin controller
  admin=$(password sx-admin); controller=$(password controller)
  cat <<PROPS
listeners=SASL_PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=SASL_PLAINTEXT://127.0.0.1:$port
listener.security.protocol.map=CONTROLLER:SASL_PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT
inter.broker.listener.name=SASL_PLAINTEXT
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="sx-admin" password="$admin";
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="controller" password="$controller" user_controller="$controller";
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:sx-admin;User:controller
allow.everyone.if.no.acl.found=false
PROPS
}

write_config() {
  mkdir -p "$data" "$home/logs"
  [ "$mode" = secured ] && make_secrets
  (umask 077; cat > "$home/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$cport
controller.listener.names=CONTROLLER
$(security_config)
log.dirs=$data
PROPS
  cat "$here/broker-common.properties" >> "$home/server.properties"
)
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
      - { name: org.apache.kafka.common.security.authenticator, level: WARN }
      - { name: kafka.authorizer.logger, level: WARN }
YAML
}

scram_args() {
  [ "$mode" = secured ] || return 0
  local name
  for name in $PRINCIPALS; do
    printf -- '--add-scram\nSCRAM-SHA-512=[name=%s,password=%s]\n' "$name" "$(password "$name")"
  done
}

client_env() {
  local name=${1:-sx-admin}
  echo "export KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:$port"
  if [ "$(cat "$home/mode" 2>/dev/null || echo "$mode")" = plaintext ]; then
    echo "export KAFKA_SECURITY_PROTOCOL=PLAINTEXT"
    return
  fi
  echo "export KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT KAFKA_SASL_MECHANISM=SCRAM-SHA-512"
  echo "export KAFKA_SASL_USERNAME=$name KAFKA_SASL_PASSWORD_FILE=$secrets/$name.password"
}

running_pid() {
  [ -f "$pidfile" ] || return 1
  local pid; pid=$(cat "$pidfile")
  kill -0 "$pid" 2>/dev/null && echo "$pid"
}

start() {
  if answering; then
    local running; running=$(cat "$home/mode" 2>/dev/null || echo unknown)
    if [ "$running" != "$mode" ]; then
      log "a $running broker already answers on 127.0.0.1:$port, not a $mode one: stop it first"; exit 1
    fi
    log "a $mode broker already answers on 127.0.0.1:$port"; return 0
  fi
  fetch
  write_config
  if [ ! -f "$data/meta.properties" ]; then
    log "formatting KRaft storage in $data"
    local args=(); while IFS= read -r line; do args+=("$line"); done < <(scram_args)
    java -cp "$libs/*" -Dlog4j2.configurationFile="$home/log4j2.yaml" -Dkafka.logs.dir="$home/logs" \
      kafka.tools.StorageTool format --standalone -t "$(cluster_id)" "${args[@]}" \
      -c "$home/server.properties" >"$home/logs/format.log" 2>&1 || { cat "$home/logs/format.log" >&2; exit 1; }
  fi
  echo "$mode" > "$home/mode"
  log "starting a $mode Kafka $KAFKA_VERSION on 127.0.0.1:$port (data in $data)"
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
  reset) stop; rm -rf "$home/data" "$home/data-sasl" ;;
  env) client_env "${2:-sx-admin}" ;;
  *) echo "usage: $0 fetch|start [--plaintext]|stop|status|reset|env [principal]" >&2; exit 2 ;;
esac
