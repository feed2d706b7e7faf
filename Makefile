# The two commands README gives: `make demo` and `make test`. Each sets up everything it needs on a
# fresh machine: the venv, the Collector and Jaeger built from Go modules and the Jaeger UI built from
# source (cached under ~/.cache/llm-otel), Prometheus, Alertmanager, docker-compose and Chromium (the
# browser tests) from apt.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := prometheus prometheus-alertmanager docker-compose chromium
BENCH_VENV ?= .venv-bench
BENCH_PY := $(BENCH_VENV)/bin/python
BENCH_STAMP := $(BENCH_VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
# The Jaeger UI source (pin in jaeger/build-ui.sh): from GitHub, or a local archive of it when one sits next to
# the repo (CI): ../shared/vendor/jaeger-ui-<tag, or the commit's first 8 hex>.tar.gz.
JAEGER_UI_VERSION := $(shell sed -nE 's/^version="\$$\{JAEGER_UI_VERSION:-(.*)\}"$$/\1/p' jaeger/build-ui.sh)
JAEGER_UI_ARCHIVE ?= $(wildcard ../shared/vendor/jaeger-ui-$(if $(filter v%,$(JAEGER_UI_VERSION)),$(JAEGER_UI_VERSION),$(shell echo $(JAEGER_UI_VERSION) | cut -c1-8)).tar.gz)

.PHONY: venv components components-scale lint test test-core demo bench bench-core bench-providers bench-venv bench-export bench-collector bench-mcp bench-frameworks clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,demo]'
	touch $@

# The real pipeline components the stack and its tests run (idempotent; rebuilds only on change).
components: components-scale
	@missing=""; for b in prometheus promtool prometheus-alertmanager amtool docker-compose chromium; do \
	  command -v $$b >/dev/null 2>&1 || missing=1; done; \
	if [ -n "$$missing" ]; then $(SUDO) apt-get update -q && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(APT_PACKAGES); fi
	bash collector/build.sh >/dev/null
	bash jaeger/build.sh >/dev/null
	JAEGER_UI_VERSION=$(JAEGER_UI_VERSION) JAEGER_UI_ARCHIVE=$(JAEGER_UI_ARCHIVE) bash jaeger/build-ui.sh >/dev/null

# The scale tests' components (tests/scale): Java + Maven and the Apache Kafka jars from Maven Central
# (scale/kafka.sh, cached under ~/.cache/llm-otel/kafka), VictoriaMetrics for remote_write (apt). Idempotent.
components-scale:
	@missing=""; for b in java mvn victoria-metrics; do command -v $$b >/dev/null 2>&1 || missing=1; done; \
	if [ -n "$$missing" ]; then $(SUDO) apt-get update -q && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q openjdk-17-jre-headless maven victoria-metrics; fi
	bash scale/kafka.sh fetch >/dev/null

# Lint and types: ruff over the tree, mypy strict on the library (configured in pyproject.toml).
lint: venv
	$(PY) -m ruff check .
	$(PY) -m mypy

# Every test: in-process ones and the end-to-end ones against the real Collector/Jaeger/Prometheus/Alertmanager.
test: venv components lint
	$(PY) -m pytest -q -p no:cacheprovider

# Only the in-process tests (no components needed).
test-core: venv
	$(PY) -m pytest -q -p no:cacheprovider -m "not stack" tests/core tests/providers tests/local_llm tests/mcp tests/conformance

# Stack + instrumented service + traffic + report; the stack keeps running until `llm-otel stack down`.
demo: venv components
	$(VENV)/bin/llm-otel demo $(if $(REQUESTS),--requests $(REQUESTS))

# Benchmarks: instructions per call under valgrind's cachegrind (deterministic), wall time as context.
# One venv holds every peer instrumentation (the `bench` extra), so every configuration sees the same install.
bench-venv: $(BENCH_STAMP)

$(BENCH_STAMP): pyproject.toml
	command -v valgrind >/dev/null 2>&1 || { $(SUDO) apt-get update -q && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q valgrind; }
	test -x $(BENCH_PY) || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_PY) -m pip install --quiet --upgrade pip
	$(BENCH_PY) -m pip install --quiet -e '.[bench]'
	rm -f $(BENCH_VENV)/.installed-*
	touch $@

bench: bench-core bench-providers

bench-core: bench-venv
	$(BENCH_PY) benchmarks/bench_core.py

bench-providers: bench-venv
	$(BENCH_PY) benchmarks/bench_providers.py

bench-export: bench-venv
	$(BENCH_PY) benchmarks/bench_export.py

bench-mcp: venv
	$(PY) benchmarks/bench_mcp.py

bench-frameworks: venv
	$(PY) benchmarks/bench_frameworks.py

clean:
	-$(VENV)/bin/llm-otel stack down
	rm -rf $(VENV) .state

# Capacity of the shipped Collector pipeline and the two-tier scale-out curve (README "Scale"); QUICK=1: <= 4 min.
.PHONY: bench-collector
bench-collector: venv components
	$(PY) benchmarks/bench_collector.py $(if $(QUICK),--quick)
