#!/usr/bin/env bash
# Build Jaeger v2 (the `jaeger` binary from cmd/jaeger) from its Go module.
#
# `go install github.com/jaegertracing/jaeger/cmd/jaeger@...` cannot work for Jaeger v2 (the module has
# no /v2 suffix and its go.mod carries replace directives), so this script downloads the module source
# with `go mod download -json`, copies it somewhere writable and runs `go build ./cmd/jaeger` inside it,
# so Jaeger's own go.mod (and its replace directives) apply.
#
# Versions tried, first that the module proxy serves wins (override with JAEGER_MODULE_VERSIONS):
#   798e4b0fcf22609e381df764a01461affd813e1e  = Jaeger v2.20.0 (by commit; v2.x tags are not valid module versions)
#   v1.76.0                                   = the dual tag of Jaeger v2.13.0, the last release with a v1 tag
# On the project's build VM the proxy refused the v2.20.0 commit (403 "not available"), so v1.76.0 was built:
# ~220 s on 2 cores with the Collector's modules already cached, binary ~116 MiB (placeholder UI page).
# Idempotent: skips the build when the binary for the resolved version exists. Progress goes to stderr;
# stdout is only the absolute path of the binary.
#
# Env: LLM_OTEL_CACHE (default ${XDG_CACHE_HOME:-$HOME/.cache}/llm-otel), LLM_OTEL_FORCE_BUILD=1.
set -euo pipefail

versions="${JAEGER_MODULE_VERSIONS:-798e4b0fcf22609e381df764a01461affd813e1e v1.76.0}"
cache="${LLM_OTEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/llm-otel}"
out="${cache}/jaeger"
bin="${out}/jaeger"
stamp="${out}/.version"

log() { printf '[jaeger/build.sh] %s\n' "$*" >&2; }

if [[ -z "${LLM_OTEL_FORCE_BUILD:-}" && -x "${bin}" && -f "${stamp}" ]]; then
  log "up to date ($(cat "${stamp}"))"
  echo "${bin}"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  log "ERROR: Go >= 1.25 is required to build Jaeger and was not found on PATH."
  log "Install it from https://go.dev/dl/ (e.g. tar -C /usr/local -xzf go1.26.*.linux-amd64.tar.gz && export PATH=\$PATH:/usr/local/go/bin),"
  log "or use the Docker image jaegertracing/jaeger:2.20.0 via docker-compose.yml."
  exit 127
fi

export GOMODCACHE="${cache}/go/mod"
export GOCACHE="${cache}/go/build"
export GOFLAGS="-modcacherw"
mkdir -p "${GOMODCACHE}" "${GOCACHE}" "${out}"

dir="" version=""
for v in ${versions}; do
  info="$(cd "${out}" && go mod download -json "github.com/jaegertracing/jaeger@${v}" 2>/dev/null || true)"
  d="$(printf '%s\n' "${info}" | sed -nE 's/^[[:space:]]*"Dir": "(.*)",?$/\1/p')"
  if [[ -n "${d}" && -d "${d}" ]]; then
    dir="${d}"
    version="$(printf '%s\n' "${info}" | sed -nE 's/^[[:space:]]*"Version": "(.*)",?$/\1/p')"
    break
  fi
  err="$(printf '%s\n' "${info}" | sed -nE 's/^[[:space:]]*"Error": "(.*)",?$/\1/p' | head -c 300)"
  log "module version ${v} not available: ${err:-unknown error}"
done
if [[ -z "${dir}" ]]; then
  log "ERROR: none of the Jaeger module versions (${versions}) could be downloaded."
  log "Use the Docker image jaegertracing/jaeger:2.20.0, or set JAEGER_MODULE_VERSIONS to a version your proxy serves."
  exit 1
fi
log "using github.com/jaegertracing/jaeger@${version}"

src="${out}/src-${version}"
if [[ ! -f "${src}/go.mod" ]]; then
  rm -rf "${src}.tmp"
  cp -r "${dir}" "${src}.tmp"
  chmod -R u+w "${src}.tmp"
  mv "${src}.tmp" "${src}"
fi

log "building jaeger (cold builds take several minutes on 2 cores)"
start=$(date +%s)
( cd "${src}" && go build -trimpath -o "${bin}.tmp" ./cmd/jaeger )
mv -f "${bin}.tmp" "${bin}"
echo "${version}" > "${stamp}"
log "built in $(( $(date +%s) - start ))s, size $(du -h "${bin}" | cut -f1)"
echo "${bin}"
