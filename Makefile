# minicloud: `make demo` and `make test` set up everything they need themselves.
PY := .venv/bin/python
# Two workers, each test file on one of them (its module fixtures start once): most
# tests wait on servers and kernels, so two workers halve the wall time on two cores.
# Every test already uses its own ports, namespaces, chains and cgroups. -n0: one process.
PYTEST_WORKERS ?= 2
PYTEST_ARGS ?=

.PHONY: setup demo demo-raft demo-api test bench lint fmt clean

setup:
	@tools/setup.sh

# The main demo: the whole toy cluster on this machine (nodes as network namespaces): a
# Deployment reached by DNS name, a pod killed, a scale-up, a rolling update with zero
# failed requests, a node drained; then everything is removed (`--keep` leaves it up).
demo: setup
	$(PY) -m minicluster demo

# miniraft's demo: a 3-member cluster survives kill -9 of its leader
# (etcdctl works against it: `python -m miniraft --keep`).
demo-raft: setup
	$(PY) -m miniraft

# The object model at work: example manifests decoded, defaulted, validated.
demo-api: setup
	$(PY) -m miniapi examples/manifests

test: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

bench:
	@tools/setup.sh bench
	$(PY) benchmarks/run.py

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

fmt: setup
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

clean:
	rm -rf .venv .pytest_cache .ruff_cache .hypothesis
	find . -name '*_pb2*.py*' -not -path './.venv/*' -delete
