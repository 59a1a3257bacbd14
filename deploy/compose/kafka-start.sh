#!/bin/bash
# Kafka for docker compose, secured as the local stack is: clients authenticate with
# SASL/SCRAM-SHA-512, the StandardAuthorizer refuses whatever no ACL allows, the controller
# listener uses SASL/PLAIN with a password of its own. The superuser is written into the storage
# when it is formatted (SCRAM credentials live in the cluster metadata); the `access` service
# then creates every other principal and its ACLs (python -m deploy.access apply).
set -euo pipefail
: "${KAFKA_ADMIN_PASSWORD:?set by .env: python -m deploy.access compose-env}"
: "${KAFKA_CONTROLLER_PASSWORD:?set by .env: python -m deploy.access compose-env}"
: "${CLUSTER_ID:?}"

conf=/tmp/server.properties
scram="org.apache.kafka.common.security.scram.ScramLoginModule required username=\"admin\" password=\"${KAFKA_ADMIN_PASSWORD}\";"
plain="org.apache.kafka.common.security.plain.PlainLoginModule required username=\"controller\" password=\"${KAFKA_CONTROLLER_PASSWORD}\" user_controller=\"${KAFKA_CONTROLLER_PASSWORD}\";"
cat > "$conf" <<PROPERTIES
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@kafka:9093
listeners=INTERNAL://:9092,CONTROLLER://:9093,EXTERNAL://:29092
advertised.listeners=INTERNAL://kafka:9092,EXTERNAL://localhost:29092
listener.security.protocol.map=INTERNAL:SASL_PLAINTEXT,EXTERNAL:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=INTERNAL
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.internal.scram-sha-512.sasl.jaas.config=${scram}
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=${plain}
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:admin;User:controller
connections.max.reauth.ms=3600000
auto.create.topics.enable=false
group.initial.rebalance.delay.ms=0
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
log.dirs=/var/lib/kafka/data
PROPERTIES

if [ ! -f /var/lib/kafka/data/meta.properties ]; then
  /opt/kafka/bin/kafka-storage.sh format --cluster-id "$CLUSTER_ID" --config "$conf" \
    --add-scram "SCRAM-SHA-512=[name=admin,password=${KAFKA_ADMIN_PASSWORD}]"
fi

# For the health check, which asks the broker as its superuser.
cat > /tmp/admin.properties <<PROPERTIES
security.protocol=SASL_PLAINTEXT
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=${scram}
PROPERTIES
chmod 600 /tmp/admin.properties "$conf"

exec /opt/kafka/bin/kafka-server-start.sh "$conf"
