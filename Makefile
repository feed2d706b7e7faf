# The two commands README gives: `make demo` and `make test`. Each sets up what it needs.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

.PHONY: venv test test-core bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,demo]'
	touch $@

# Every test, the end-to-end ones against the real Collector/Jaeger/Prometheus included.
test: venv
	$(PY) -m pytest -q -p no:cacheprovider

# Only the in-process tests (no components needed).
test-core: venv
	$(PY) -m pytest -q -p no:cacheprovider tests/core

bench: venv
	$(PY) benchmarks/bench_core.py

clean:
	rm -rf $(VENV) .state
