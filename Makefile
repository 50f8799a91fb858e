# Every entry point CI and README use. `make demo` and `make test` work on a fresh machine:
# they need only the Rust toolchain (and, for bindings, what their own scripts install).
SHELL := /bin/bash
.PHONY: demo test test-rust test-node lint bench

demo:
	cargo run --release -q -p act-core --example customer_support

test: test-rust test-node

test-rust:
	scripts/test-rust.sh

# The npm package act-sdk: npm ci, release build of the addon, tsc, node --test.
test-node:
	node/run_tests.sh

lint:
	cargo clippy --workspace --all-targets --locked -- -D warnings
	cargo fmt --all --check

bench:
	cargo bench -p act-core --bench validate
