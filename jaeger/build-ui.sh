#!/usr/bin/env bash
# Build the Jaeger UI (github.com/jaegertracing/jaeger-ui) from source, so the locally built Jaeger serves the
# real UI: the stack points `extensions.jaeger_query.ui.assets_path` at the build directory this script prints.
#
# Jaeger built from Go modules (jaeger/build.sh) carries only a placeholder page; no registry serves a built UI.
# Source: the pinned tag, downloaded from GitHub, or a local archive of the same tag (JAEGER_UI_ARCHIVE, a
# .tar.gz with one top folder; `make components` sets it to ../shared/vendor/jaeger-ui-<pin>.tar.gz when present).
# Node 24 (the UI's engines field) is installed from the npm registry into the cache (`npm install node@24`), so
# only an `npm` of any version is needed on PATH (Debian: apt-get install npm).
# Measured on 2 cores: npm ci ~30 s + vite build ~80 s; output ~7 MB.
# Idempotent: one build per pin under the cache; rebuilt only when JAEGER_UI_VERSION changes.
# Progress goes to stderr; stdout is only the absolute path of the build directory (holds index.html).
#
# Env: JAEGER_UI_VERSION (default below), JAEGER_UI_ARCHIVE, LLM_OTEL_CACHE
# (default ${XDG_CACHE_HOME:-$HOME/.cache}/llm-otel), LLM_OTEL_FORCE_BUILD=1.
set -euo pipefail

version="${JAEGER_UI_VERSION:-v2.17.0}"
node_major=24
cache="${LLM_OTEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/llm-otel}"
out="${cache}/jaeger-ui"
build="${out}/${version}"
node_dir="${out}/node${node_major}"

log() { printf '[jaeger/build-ui.sh] %s\n' "$*" >&2; }

if [[ -z "${LLM_OTEL_FORCE_BUILD:-}" && -f "${build}/index.html" ]]; then
  log "up to date (${version})"
  echo "${build}"
  exit 0
fi

if ! command -v npm >/dev/null 2>&1; then
  log "ERROR: npm is required to build the Jaeger UI and was not found on PATH."
  log "Install it (Debian/Ubuntu: sudo apt-get install npm; any version: it only fetches Node ${node_major}),"
  log "or use the Docker image jaegertracing/jaeger via docker-compose.yml, which carries its own UI."
  exit 127
fi
mkdir -p "${out}"

# Node 24 from the npm registry (the `node` package ships the official binary), kept in the cache.
node="${node_dir}/node_modules/.bin/node"
if [[ ! -x "${node}" ]] || ! "${node}" --version | grep -q "^v${node_major}\."; then
  log "installing Node ${node_major} from the npm registry into ${node_dir}"
  rm -rf "${node_dir}"
  mkdir -p "${node_dir}"
  (cd "${node_dir}" && npm install --no-save --no-package-lock --loglevel=error "node@${node_major}" >&2)
fi
export PATH="${node_dir}/node_modules/.bin:${PATH}"
log "node $(node --version), npm $(npm --version)"

src="${out}/src-${version}"
rm -rf "${src}"
mkdir -p "${src}"
if [[ -n "${JAEGER_UI_ARCHIVE:-}" ]]; then
  log "source: ${JAEGER_UI_ARCHIVE}"
  tar -xzf "${JAEGER_UI_ARCHIVE}" -C "${src}" --strip-components=1
else
  url="https://github.com/jaegertracing/jaeger-ui/archive/refs/tags/${version}.tar.gz"
  log "source: ${url}"
  if ! curl -fsSL --retry 3 "${url}" | tar -xz -C "${src}" --strip-components=1; then
    log "ERROR: could not download ${url}; set JAEGER_UI_ARCHIVE to a local .tar.gz of jaeger-ui ${version}."
    exit 1
  fi
fi
got="$(node -p "require('${src}/packages/jaeger-ui/package.json').version")"
if [[ "v${got}" != "${version}" ]]; then
  log "ERROR: the source is jaeger-ui ${got}, the pin is ${version} (JAEGER_UI_ARCHIVE=${JAEGER_UI_ARCHIVE:-})."
  exit 1
fi

start=$(date +%s)
log "npm ci (dependencies from package-lock.json, install scripts off)"
(cd "${src}" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
log "vite build (about 80 s on 2 cores)"
(cd "${src}/packages/jaeger-ui" && npm run build >&2)
rm -rf "${build}.tmp"
mv "${src}/packages/jaeger-ui/build" "${build}.tmp"
rm -rf "${build}" "${src}"
mv "${build}.tmp" "${build}"
log "built in $(( $(date +%s) - start ))s, size $(du -sh "${build}" | cut -f1)"
echo "${build}"
