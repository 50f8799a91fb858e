# Every entry point CI and README use. `make demo` and `make test` work on a fresh machine:
# they need only the Rust toolchain (and, for bindings, what their own scripts install).
SHELL := /bin/bash
.PHONY: demo test test-rust test-python test-kotlin lint bench

demo:
	cargo run --release -q -p act-core --example customer_support

test:
	scripts/test-all.sh

test-rust:
	scripts/test-rust.sh

test-python:
	python/run_tests.sh

# Builds the uniffi cdylib, fails if the committed Kotlin/Swift bindings are stale, runs the JUnit suite.
test-kotlin:
	bindings/run_kotlin_tests.sh

lint:
	cargo clippy --workspace --all-targets --locked -- -D warnings
	cargo fmt --all --check

bench:
	cargo bench -p act-core --bench validate
