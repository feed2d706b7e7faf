#!/usr/bin/env bash
# Build the llm-otel Collector distribution (otelcol-llm) with the OpenTelemetry Collector Builder.
#
# Idempotent: installs the builder if missing, reuses stable Go module/build caches, and keeps one
# binary per manifest hash (${cache}/otelcol-llm/<hash>/), so checkouts with different manifests
# (branches, worktrees) never rebuild over each other; an existing binary for this hash is reused.
# Progress goes to stderr; the only line on stdout is the absolute path of the binary, so `bin=$(collector/build.sh)` works.
#
# Measured on a 2-core Debian 12 VM, Go 1.26: cold build ~165 s, binary ~45 MiB; unchanged manifest: <1 s.
#
# Env: LLM_OTEL_CACHE (default ${XDG_CACHE_HOME:-$HOME/.cache}/llm-otel), LLM_OTEL_FORCE_BUILD=1.
set -euo pipefail

OCB_VERSION="v0.159.0"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
manifest="${here}/manifest.yaml"
cache="${LLM_OTEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/llm-otel}"
hash="$(sha256sum "${manifest}" | cut -d' ' -f1)"
out="${cache}/otelcol-llm/${hash:0:12}"
bin="${out}/otelcol-llm"

log() { printf '[collector/build.sh] %s\n' "$*" >&2; }

if ! command -v go >/dev/null 2>&1; then
  log "ERROR: Go >= 1.25 is required to build the Collector and was not found on PATH."
  log "Install it from https://go.dev/dl/ (e.g. tar -C /usr/local -xzf go1.26.*.linux-amd64.tar.gz && export PATH=\$PATH:/usr/local/go/bin),"
  log "or use the Docker image otel/opentelemetry-collector-contrib:0.159.0 via docker-compose.yml."
  exit 127
fi

export GOMODCACHE="${cache}/go/mod"
export GOCACHE="${cache}/go/build"
export GOBIN="${cache}/bin"
export GOFLAGS="-modcacherw"
mkdir -p "${GOMODCACHE}" "${GOCACHE}" "${GOBIN}" "${out}"

if [[ -z "${LLM_OTEL_FORCE_BUILD:-}" && -x "${bin}" ]]; then
  log "up to date (manifest ${hash:0:12})"
  echo "${bin}"
  exit 0
fi

builder="${GOBIN}/builder"
have="$("${builder}" version 2>/dev/null || true)"
if [[ "${have}" != *"${OCB_VERSION}"* ]]; then
  log "installing builder ${OCB_VERSION} into ${GOBIN}"
  go install "go.opentelemetry.io/collector/cmd/builder@${OCB_VERSION}"
fi

# The builder resolves output_path relative to the working directory: build from a copy of the
# manifest whose output_path points into the cache, so the repository stays clean.
work="${out}/manifest.yaml"
sed -E "s|^([[:space:]]*output_path:).*|\1 ${out}/src|" "${manifest}" > "${work}"

log "building otelcol-llm (cold builds take many minutes on 2 cores)"
start=$(date +%s)
( cd "${out}" && "${builder}" --config="${work}" >&2 )
cp -f "${out}/src/otelcol-llm" "${bin}.tmp" && mv -f "${bin}.tmp" "${bin}"
log "built in $(( $(date +%s) - start ))s, size $(du -h "${bin}" | cut -f1)"
"${bin}" --version >&2 || true
echo "${bin}"
