# HandTracker: two commands set everything up on a fresh machine.
#   make demo   local control plane + operator + example HandTracker + web UI on :8080
#   make test   every test (installs what it needs first)
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

# Hash-checked installs from the locks `python -m hack.lock` writes (requirements/*.lock):
# pip refuses any file whose sha256 the lock does not hold.
LOCKS := requirements/build.lock requirements/dev.lock requirements/workload-nodeps.lock
PIP_INSTALL := $(PY) -m pip install -q --require-hashes

.PHONY: demo test test-fast lint bench serve operator cluster-up cluster-down \
        controlplane tools chart images system-deps venv clean

$(VENV)/.installed: $(LOCKS)
	$(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) -r requirements/build.lock
	$(PIP_INSTALL) -r requirements/dev.lock
	$(PIP_INSTALL) --no-deps -r requirements/workload-nodeps.lock
	touch $@

# The project itself, editable, over the locked requirements above (hence --no-deps, and no
# build isolation: the locked setuptools builds it): both packages import from their
# folders, with pyproject.toml's version in their metadata.
$(VENV)/.project: pyproject.toml $(VENV)/.installed
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	touch $@

## The virtualenv, and the wheelhouse a fresh one installs the operator from without PyPI
## (hack/wheelhouse.py; refilled only when requirements/operator.txt or the pins change).
venv: $(VENV)/.project
	$(PY) -m hack.wheelhouse

## Debian packages the tests and the demo use (Chromium, ChromeDriver, ffmpeg, openssl),
## and those of the real node and the images (containerd, runc, CNI plugins, buildah, ...).
system-deps:
	bash hack/system-deps.sh

## Build (or reuse from the cache) the pinned control-plane binaries.
controlplane: venv
	$(PY) -m hack.controlplane build

## The pinned helm and promtool (hack/tools/go/), built once into ~/.cache/handtracker/tools/;
## the tests build them on first use too.
tools: venv
	$(PY) -m hack.tools build helm
	$(PY) -m hack.tools build promtool

## The chart's links to the CRDs, RBAC rules and monitoring files it shares with deploy/,
## and its version and appVersion, written from pyproject.toml.
chart: venv
	$(PY) -m hack.chart

## The container images, built here with buildah (as root; needs a Debian mirror and PyPI):
## base, pause, workload, operator, Traefik, model cars; each the node runs then pushed to
## the bed's registry, pinned by digest, signed and its SBOM attested. Skipped, with the
## reason, where the real node cannot run. Every `python -m hack.bed up` has the real node
## pull them by digest, verified first.
images: venv
	$(PY) -m hack.images build --if-node

## The bed: control plane, registry, real node, and the images pulled into it.
cluster-up: controlplane images
	$(PY) -m hack.bed up

cluster-down: venv
	$(PY) -m hack.bed down

## Every test: unit, workload on real photos, operator on the real control plane, browser.
test: system-deps venv controlplane tools images
	bash hack/run-tests.sh tests

## Tests that need neither the control plane nor a browser.
test-fast: venv
	bash hack/run-tests.sh tests/unit

demo: system-deps venv controlplane images
	$(PY) -m hack.demo

## The workload alone, on http://127.0.0.1:8080.
serve: venv
	$(PY) -m handtracker_workload --bind 127.0.0.1:8080

## The operator against .cluster/kubeconfig (after `make cluster-up`).
operator: venv
	KUBECONFIG=$(CURDIR)/.cluster/kubeconfig $(PY) -m handtracker_operator

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/hadolint Dockerfile.operator Dockerfile.workload

## Benchmarks (not tests): served/in-process throughput, big images, thorough detection,
## operator convergence, real pods.
bench: cluster-up
	$(PY) benchmarks/bench_workload.py
	$(PY) benchmarks/bench_thorough.py
	$(PY) benchmarks/bench_operator.py
	$(PY) benchmarks/bench_realnode.py

clean: cluster-down
	rm -rf $(VENV) .pytest_cache artifacts
