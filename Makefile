# Every entry point CI and README use. `make demo` and `make test` work on a fresh machine:
# they need the Rust toolchain and python3 (and, for bindings, what their own scripts install).
SHELL := /bin/bash
.PHONY: demo dist test test-rust test-python test-node test-kotlin lint fuzz bench bench-core

# The article's customer-support bot in Python (examples/customer_support/agent.py) on the
# embedded policy file; first builds the act_sdk wheel and installs it into python/.venv
# (scripts/python-env.sh; cargo's progress is shown).
# The same scenario through the Rust API: cargo run -p act-core --example customer_support
demo:
	scripts/python-env.sh python examples/customer_support/agent.py

# The artifacts users install without Rust, into dist/: the abi3 manylinux wheel, the sdist, the
# static musl `act` CLI, each checked (scripts/dist.sh). CI builds the same wheel once and tests it.
dist:
	scripts/dist.sh

test:
	scripts/test-all.sh

test-rust:
	scripts/test-rust.sh

test-python:
	python/run_tests.sh
# The npm package act-sdk: npm ci, release build of the addon, tsc, node --test.
test-node:
	node/run_tests.sh

# Builds the uniffi cdylib, fails if the committed Kotlin/Swift bindings are stale, runs the JUnit suite.
test-kotlin:
	bindings/run_kotlin_tests.sh

# Formatters in check mode and linters for Rust, Python and JS/TS (scripts/lint.sh); CI runs it before `make test`.
lint:
	scripts/lint.sh

# The fuzz targets under libFuzzer (nightly, installed when missing), 25 s each (FUZZ_SECONDS);
# `make test` runs only their stable replay.
fuzz:
	scripts/fuzz-smoke.sh --libfuzzer

# One run of every benchmark, then BENCHMARKS.md (see scripts/bench_report.py).
# The control plane (bench/server) runs the built `act server` against floor peers; the Go floor
# only where `go` is installed. Its PostgreSQL ingest uses ACT_BENCH_DATABASE_URL, else
# scripts/postgres.sh when the `act` build supports PostgreSQL (else it is reported as skipped).
bench:
	mkdir -p target
	cargo run --profile profiling --manifest-path bench/peers/Cargo.toml > target/bench-rust.json
	cargo build --profile profiling -p act-cli
	-cd bench/server/go-floor && go build -o ../../../target/go-floor .
	-cargo run --profile profiling --manifest-path bench/server/Cargo.toml -- --act target/profiling/act \
		$$([ -x target/go-floor ] && echo --go-floor target/go-floor) > target/bench-server.json
	-python/.venv/bin/pip install --quiet --disable-pip-version-check cedarpy casbin pyjwt cryptography
	-python/.venv/bin/python python/benchmarks/bench_validate.py > target/bench-python.txt
	-node node/benchmarks/bench.mjs > target/bench-node.txt
	python3 scripts/bench_report.py

# The criterion benchmark of the core alone.
bench-core:
	cargo bench -p act-core --bench validate
