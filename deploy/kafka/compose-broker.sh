#!/bin/sh
# The docker-compose broker (apache/kafka image, run as its entrypoint): one KRaft node with the same
# settings as broker.sh (broker-common.properties), secured with SASL/SCRAM-SHA-512 on both client
# listeners and an ACL authorizer.
#
# Why not the image's own entrypoint: SCRAM credentials live in the cluster metadata, and the first one
# (the admin's, which the broker itself uses between its listeners) must be written when the storage is
# formatted (`kafka-storage.sh format --add-scram`), which the image's script cannot be told to do.
# Every principal's credential is added at that first format, from the compose secrets mounted in
# /run/secrets (one file per principal, never in the repository); a later password change goes through
# `kafka-configs.sh --alter --add-config SCRAM-SHA-512=[...] --entity-type users` (docs/operations.md).
#
# The controller listener stays PLAINTEXT on the container's loopback: only this process reaches it, and
# its ANONYMOUS principal is a super user so that the broker can talk to its own controller. Every
# listener another container or the host can reach authenticates, and nothing without an ACL is allowed.
#
# The defaults are the container's; the SX_* variables exist so that tests/deploy/test_compose_broker.py
# can run this very script outside Docker, on private ports, against the jars broker.sh fetches.
set -eu

secrets=${SX_SECRETS_DIR:-/run/secrets}
bin=${SX_KAFKA_BIN:-/opt/kafka/bin}
data=${SX_KAFKA_DATA:-/var/lib/kafka/data}
conf=${SX_KAFKA_CONF:-/tmp/sx-kafka}
bind=${SX_BIND_HOST:-0.0.0.0}
advertised=${SX_ADVERTISED_HOST:-kafka}
port=${SX_PORT:-9092}
cport=${SX_CONTROLLER_PORT:-9093}
host_port=${SX_HOST_PORT:-29092}
config=$conf/server.properties
admin_config=$conf/admin.properties
mkdir -p "$conf"
chmod 700 "$conf"

# A password goes into a JAAS string and into --add-scram's bracketed list: letters, digits
# and -._~ only (hex or base64url), so that neither can be broken out of.
read_secret() {
  [ -s "$secrets/$1" ] || { echo "missing secret $secrets/$1 (see docs/operations.md)" >&2; exit 1; }
  value=$(tr -d '\n' < "$secrets/$1")
  case "$value" in
    *[!A-Za-z0-9._~-]*) echo "secret $1: use letters, digits and -._~ only (e.g. hex)" >&2; exit 1 ;;
  esac
  printf '%s' "$value"
}
admin_password=$(read_secret sx-admin)
jaas_admin="org.apache.kafka.common.security.scram.ScramLoginModule required username=\"sx-admin\" password=\"$admin_password\";"

cat > "$config" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=SASL_PLAINTEXT://$bind:$port,CONTROLLER://127.0.0.1:$cport,HOST://$bind:$host_port
advertised.listeners=SASL_PLAINTEXT://$advertised:$port,HOST://127.0.0.1:$host_port
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,HOST:SASL_PLAINTEXT
inter.broker.listener.name=SASL_PLAINTEXT
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=$jaas_admin
listener.name.host.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:sx-admin;User:ANONYMOUS
allow.everyone.if.no.acl.found=false
log.dirs=$data
PROPS
# The settings shared with broker.sh, mounted beside this script (docker-compose.yml).
cat "$(dirname "$0")/broker-common.properties" >> "$config"

# The admin client settings for the health check and for operators (`docker compose exec kafka ...`).
cat > "$admin_config" <<PROPS
security.protocol=SASL_PLAINTEXT
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=$jaas_admin
PROPS
chmod 600 "$config" "$admin_config"

scram=""
for principal in sx-admin sx-ingest sx-normalize sx-aggregate sx-deliver sedex amfori; do
  scram="$scram --add-scram SCRAM-SHA-512=[name=$principal,password=$(read_secret "$principal")]"
done
# shellcheck disable=SC2086  # $scram is a list of arguments; read_secret allows no spaces
"$bin/kafka-storage.sh" format --ignore-formatted --cluster-id "$CLUSTER_ID" --config "$config" $scram

exec "$bin/kafka-server-start.sh" "$config"
