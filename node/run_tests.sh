#!/usr/bin/env bash
# The Node package's whole test run, from a clean clone: installs the npm
# dev dependencies (from package-lock.json; the framework packages the guards
# in integrations/ are tested against are among them), builds the native addon
# in release mode, type-checks test/types.ts against index.d.ts and
# test/integrations/types.mts against integrations/*.d.ts, and runs every
# node:test suite (conformance vectors and framework guards included). On
# x86_64 Linux it also packs the npm tarballs (scripts/dist-node.sh: act-sdk
# and @act-sdk/linux-x64-gnu), installs them into a fresh folder and runs the
# conformance vectors there, and checks the loader's error when the platform
# package is missing. Fails on any failure.
#
#   node/run_tests.sh            (needs node >= 20, npm and cargo)
set -euo pipefail
cd "$(dirname "$0")"

echo "== npm install (locked)"
if [ -f package-lock.json ]; then
  npm ci --no-audit --no-fund
else
  npm install --no-audit --no-fund
fi

# On x86_64 Linux the addon is the one the npm platform package ships, built in the same cargo
# invocation as the wheel's extension and the uniffi library (scripts/dist-native.sh: one
# compilation of act-core for all three, linked for glibc >= 2.17); elsewhere scripts/build.mjs.
host_target=""
if [ "$(uname -s)-$(uname -m)" = Linux-x86_64 ]; then host_target=x86_64-unknown-linux-gnu; fi
echo "== build the native addon (cargo, release)"
if [ -n "$host_target" ]; then
  addon=$(../scripts/dist-node.sh addon "$host_target")
  cp "$addon" "./$(node -p "require('./native.js').addonName()")"
else
  node scripts/build.mjs
fi

echo "== build the act CLI (the control-endpoint test runs a real act serve)"
(cd .. && cargo build --quiet -p act-cli)
export ACT_BIN="$PWD/../target/debug/act"

echo "== tsc --noEmit (test/types.ts against index.d.ts)"
npx --no-install tsc --noEmit -p test/tsconfig.json

echo "== tsc --noEmit (test/integrations/types.mts against integrations/*.d.ts and the frameworks' types)"
# skipLibCheck stays off so that our own .d.ts files are checked. The frameworks'
# declarations have errors of their own under node16 resolution (a missing
# @types/json-schema, ESM types imported from CommonJS ones); those lines, and
# only those, are left out: any error in a file of ours fails the run.
rc=0
tsc_out=$(npx --no-install tsc --noEmit -p test/integrations/tsconfig.json 2>&1) || rc=$?
if [ "$rc" -ne 0 ]; then
  theirs=$(printf '%s\n' "$tsc_out" | grep -cE '^node_modules/[^ ]*: error TS' || true)
  ours=$(printf '%s\n' "$tsc_out" | grep -E '^[^ ]' | grep -vE '^node_modules/[^ ]*: error TS' || true)
  if [ "$theirs" -eq 0 ] || [ -n "$ours" ]; then
    printf '%s\n' "$tsc_out"
    exit 1
  fi
fi

# The machine's Node may be past its end of life; the package is also tested on the LTS lines
# users run today (package.json `engines`), with runtimes from the npm registry. The core suites
# run there (vectors, API, bad input, hostile input); the framework guards run on the host Node.
# First, so that the last counts printed are the whole suite's.
lts_versions="22.23.5 24.22.3"
if [ "${ACT_SKIP_NODE_LTS:-0}" != 1 ] && [ "$(uname -s)" = Linux ]; then
  runtimes=$(../scripts/node-runtimes.sh $lts_versions)
  for node_bin in $runtimes; do
    echo "== node $("$node_bin" --version) --test (core suites)"
    "$node_bin" --test --test-concurrency=1 test/vectors.test.js test/api.test.js test/bad_input.test.js \
      test/hostile.test.js
  done
else
  echo "== LTS runtimes skipped (ACT_SKIP_NODE_LTS=1, or not Linux)"
fi

# What a user installs: the packed tarballs in a fresh folder (no source tree, no cargo involved).
if [ -n "$host_target" ]; then
  echo "== npm pack (scripts/dist-node.sh), npm install of the tarballs into a fresh folder, conformance vectors"
  scratch=$(mktemp -d)
  trap 'rm -rf "$scratch"' EXIT
  mapfile -t tarballs < <(../scripts/dist-node.sh pack "$scratch/packs" "$host_target")
  printf '   %s\n' "${tarballs[@]##*/}"
  mkdir "$scratch/app" "$scratch/bare"
  (cd "$scratch/app" && npm init -y >/dev/null && npm install --no-audit --no-fund "${tarballs[@]}")
  env -u ACT_SDK_NATIVE ACT_SDK_PACKAGE="$scratch/app/node_modules/act-sdk" ACT_VECTORS_DIR="$PWD/../tests/vectors" \
    node --test --test-concurrency=1 test/vectors.test.js
  echo "== the main tarball without its platform package: the loader names what is missing"
  main_tarball=$(printf '%s\n' "${tarballs[@]}" | grep -E '/act-sdk-[0-9][^/]*\.tgz$')
  (cd "$scratch/bare" && npm init -y >/dev/null && npm install --no-audit --no-fund --omit=optional "$main_tarball")
  env -u ACT_SDK_NATIVE ACT_SDK_PACKAGE="$scratch/bare/node_modules/act-sdk" node --test ../dist-tests/node-loader.test.js
fi

echo "== node $(node --version) --test"
node --test --test-concurrency=1 test/
