#!/usr/bin/env bash
# A single-node Apache Kafka broker (KRaft mode, no ZooKeeper) from Maven Central's artifacts, on the machine's Java 17+.
#
#   bash scale/kafka.sh fetch             resolve org.apache.kafka:kafka_2.13 + dependencies (Maven), print the lib dir
#   bash scale/kafka.sh start DIR PORT    format DIR as a KRaft log dir and run the broker on 127.0.0.1:PORT (foreground;
#                                         the controller listens on PORT+1 unless a third argument names its port)
#   bash scale/kafka.sh topic PORT NAME N create topic NAME with N partitions on the broker at 127.0.0.1:PORT
#
# Idempotent: the jars are cached under ${LLM_OTEL_CACHE:-~/.cache/llm-otel}/kafka/<version>/lib; a complete cache is
# reused without touching the network. Needs `mvn` (Debian: apt-get install -y maven) and `java` (>= 17).
# Only for the local two-tier tests and `make components`; production runs a managed or operator-run Kafka cluster.
#
# Env: KAFKA_VERSION (default 4.1.1), LLM_OTEL_CACHE, KAFKA_HEAP (default -Xmx512m).
set -euo pipefail

version="${KAFKA_VERSION:-4.1.1}"
cache="${LLM_OTEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/llm-otel}"
home="${cache}/kafka/${version}"
lib="${home}/lib"

log() { printf '[scale/kafka.sh] %s\n' "$*" >&2; }

fetch() {
  if [[ -f "${lib}/.complete" ]]; then
    echo "${lib}"
    return
  fi
  command -v java >/dev/null 2>&1 || { log "ERROR: java (>= 17) not found: apt-get install -y openjdk-17-jre-headless"; exit 127; }
  command -v mvn >/dev/null 2>&1 || { log "ERROR: mvn not found: apt-get update && apt-get install -y maven"; exit 127; }
  mkdir -p "${home}"
  # A throwaway POM whose only dependency is the broker; Maven resolves the transitive closure from Maven Central.
  cat > "${home}/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>llm-otel</groupId>
  <artifactId>kafka-broker</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>${version}</version></dependency>
    <!-- kafka-topics (org.apache.kafka.tools.TopicCommand), to create the partitioned topic up front. -->
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>${version}</version></dependency>
    <!-- The broker logs through SLF4J; this binds it to log4j2 (which kafka_2.13 already brings). -->
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>2.24.3</version></dependency>
  </dependencies>
</project>
POM
  local tmp="${lib}.tmp-$$"
  rm -rf "${tmp}"
  log "resolving org.apache.kafka:kafka_2.13:${version} and its dependencies with Maven"
  mvn -q -B -f "${home}/pom.xml" dependency:copy-dependencies -DoutputDirectory="${tmp}" -DincludeScope=runtime >&2
  touch "${tmp}/.complete"
  rm -rf "${lib}" && mv "${tmp}" "${lib}"
  log "cached $(ls "${lib}" | wc -l) jars in ${lib}"
  echo "${lib}"
}

start() {
  local dir="$1" port="$2" controller_port="${3:-$(( $2 + 1 ))}"
  fetch >/dev/null
  mkdir -p "${dir}/data"
  cat > "${dir}/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:${controller_port}
listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controller_port}
advertised.listeners=PLAINTEXT://127.0.0.1:${port}
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=${dir}/data
num.partitions=3
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
PROPS
  cat > "${dir}/log4j2.yaml" <<LOG
Configuration:
  Appenders:
    Console: {name: STDOUT, PatternLayout: {pattern: "[%d] %p %m (%c)%n"}}
  Loggers:
    Root: {level: WARN, AppenderRef: [{ref: STDOUT}]}
    Logger: [{name: kafka.server.KafkaRaftServer, level: INFO}, {name: kafka.server.BrokerServer, level: INFO}]
LOG
  local java_opts=(${KAFKA_HEAP:--Xmx512m} -XX:+UseG1GC -Djava.awt.headless=true
                   "-Dlog4j2.configurationFile=${dir}/log4j2.yaml" -cp "${lib}/*")
  if [[ ! -f "${dir}/data/meta.properties" ]]; then
    java "${java_opts[@]}" kafka.tools.StorageTool format -t "$(java "${java_opts[@]}" kafka.tools.StorageTool random-uuid)" \
      -c "${dir}/server.properties" >&2
  fi
  exec java "${java_opts[@]}" kafka.Kafka "${dir}/server.properties"
}

topic() {
  local port="$1" name="$2" partitions="$3"
  java -Xmx128m -cp "$(fetch)/*" -Dlog4j2.level=WARN org.apache.kafka.tools.TopicCommand --bootstrap-server "127.0.0.1:${port}" \
    --create --if-not-exists --topic "${name}" --partitions "${partitions}" --replication-factor 1
}

case "${1:-}" in
  fetch) fetch ;;
  start) shift; start "$@" ;;
  topic) shift; topic "$@" ;;
  *) echo "usage: $0 fetch | start DIR PORT [CONTROLLER_PORT] | topic PORT NAME PARTITIONS" >&2; exit 2 ;;
esac
