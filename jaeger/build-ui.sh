#!/usr/bin/env bash
# Build the Jaeger UI (github.com/jaegertracing/jaeger-ui) from source, so the locally built Jaeger serves the
# real UI: the stack points `extensions.jaeger_query.ui.assets_path` at the build directory this script prints.
#
# Jaeger built from Go modules (jaeger/build.sh) carries only a placeholder page; no registry serves a built UI.
# Pin (JAEGER_UI_VERSION): a tag or a commit of jaeger-ui. Default v2.17.0, the newest whose search page works
# with the Jaeger that jaeger/build.sh can build here (v2.13.0). jaeger-ui main at c321fb32bbca0bdce9e8c2d40afb35abbf54c12b
# has the GenAI trace view (conversation, tokens per model call) and builds with this script too, but its
# search page needs Jaeger's /api/v3/trace-summaries, which v2.13.0 does not serve (the trace pages work).
# Source: the pin downloaded from GitHub, or a local archive of it (JAEGER_UI_ARCHIVE, a .tar.gz with one top
# folder; `make components` sets it to ../shared/vendor/jaeger-ui-<tag or first 8 hex>.tar.gz when present).
# Node 24 (the UI's engines field) and, for pnpm sources, pnpm are installed from the npm registry into the
# cache, so only an `npm` of any version is needed on PATH (Debian: apt-get install npm).
# npm sources (package-lock.json, e.g. v2.17.0): `npm ci`. pnpm sources (main): jaeger/fix-ui-lockfile.py
# moves the one lockfile entry the registry no longer serves, then `pnpm install --frozen-lockfile`.
# Measured on 2 cores: v2.17.0 npm ci ~30 s + build ~80 s when idle (7 MB); main c321fb32 pnpm install ~1 min +
# build ~20 s (4.5 MB). A machine under heavy load takes far longer (v2.17.0 took 26 min at load 25).
# Idempotent: one build per pin under the cache; rebuilt only when the pin changes.
# Progress goes to stderr; stdout is only the absolute path of the build directory (holds index.html).
#
# Env: JAEGER_UI_VERSION (default below), JAEGER_UI_ARCHIVE, LLM_OTEL_CACHE
# (default ${XDG_CACHE_HOME:-$HOME/.cache}/llm-otel), LLM_OTEL_FORCE_BUILD=1.
set -euo pipefail

version="${JAEGER_UI_VERSION:-v2.17.0}"
node_major=24
pnpm_version=11.28.11
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
pnpm_dir="${out}/pnpm-${pnpm_version}"
if [[ ! -x "${pnpm_dir}/node_modules/.bin/pnpm" ]]; then
  log "installing pnpm ${pnpm_version} from the npm registry into ${pnpm_dir}"
  rm -rf "${pnpm_dir}"
  mkdir -p "${pnpm_dir}"
  (cd "${pnpm_dir}" && npm install --no-save --no-package-lock --loglevel=error "pnpm@${pnpm_version}" >&2)
fi
export PATH="${node_dir}/node_modules/.bin:${pnpm_dir}/node_modules/.bin:${PATH}"
log "node $(node --version), npm $(npm --version), pnpm $(pnpm --version)"

src="${out}/src-${version}"
rm -rf "${src}"
mkdir -p "${src}"
if [[ -n "${JAEGER_UI_ARCHIVE:-}" ]]; then
  log "source: ${JAEGER_UI_ARCHIVE}"
  tar -xzf "${JAEGER_UI_ARCHIVE}" -C "${src}" --strip-components=1
else
  url="https://github.com/jaegertracing/jaeger-ui/archive/${version}.tar.gz"
  log "source: ${url}"
  if ! curl -fsSL --retry 3 "${url}" | tar -xz -C "${src}" --strip-components=1; then
    log "ERROR: could not download ${url}; set JAEGER_UI_ARCHIVE to a local .tar.gz of jaeger-ui ${version}."
    exit 1
  fi
fi
got="$(node -p "require('${src}/packages/jaeger-ui/package.json').version")"
if [[ "${version}" == v* && "v${got}" != "${version}" ]]; then
  log "ERROR: the source is jaeger-ui ${got}, the pin is ${version} (JAEGER_UI_ARCHIVE=${JAEGER_UI_ARCHIVE:-})."
  exit 1
fi

start=$(date +%s)
if [[ -f "${src}/pnpm-lock.yaml" ]]; then
  python3 "$(dirname "${BASH_SOURCE[0]}")/fix-ui-lockfile.py" "${src}"
  log "pnpm install --frozen-lockfile (jaeger-ui ${got}, install scripts off)"
  (cd "${src}" && pnpm install --frozen-lockfile --ignore-scripts --reporter=append-only >&2)
  log "vite build"
  (cd "${src}/packages/jaeger-ui" && pnpm run build >&2)
else
  log "npm ci (jaeger-ui ${got}, dependencies from package-lock.json, install scripts off)"
  (cd "${src}" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
  log "vite build"
  (cd "${src}/packages/jaeger-ui" && npm run build >&2)
fi
rm -rf "${build}.tmp"
mv "${src}/packages/jaeger-ui/build" "${build}.tmp"
rm -rf "${build}" "${src}"
mv "${build}.tmp" "${build}"
log "built in $(( $(date +%s) - start ))s, size $(du -sh "${build}" | cut -f1)"
echo "${build}"
