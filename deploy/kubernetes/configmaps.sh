#!/usr/bin/env bash
# Creates or updates the ConfigMaps the Helm releases mount, straight from the repository's files, so the cluster runs
# the very Collector configs and Prometheus rules that the local stack and the tests run (nothing is copied into values).
#   NAMESPACE=observability bash deploy/kubernetes/configmaps.sh
# Each `--from-file=KEY=PATH` below becomes /conf/relay.yaml (key relay, mounted by the chart) or /etc/llm-otel/KEY.
# tests/scale/test_k8s_manifests.py reads these lines to validate exactly these files in the values' --config order.
set -euo pipefail
ns="${NAMESPACE:-observability}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
apply() { kubectl create configmap "$1" --namespace "${ns}" "${@:2}" --dry-run=client -o yaml | kubectl apply -f -; }

kubectl get namespace "${ns}" >/dev/null 2>&1 || kubectl create namespace "${ns}"
apply llm-otel-agent \
  --from-file=relay="${root}/collector/agent.yaml" \
  --from-file=k8s-agent.yaml="${root}/deploy/kubernetes/collector/k8s-agent.yaml" \
  --from-file=kafka-agent.yaml="${root}/collector/kafka-agent.yaml"
apply llm-otel-gateway \
  --from-file=relay="${root}/collector/gateway.yaml" \
  --from-file=k8s-gateway.yaml="${root}/deploy/kubernetes/collector/k8s-gateway.yaml" \
  --from-file=kafka-gateway.yaml="${root}/collector/kafka-gateway.yaml"
apply llm-otel-prometheus-rules --from-file="${root}/prometheus/rules/"
