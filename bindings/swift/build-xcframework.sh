#!/usr/bin/env bash
# macOS only (Xcode and rustup): builds ActFFI.xcframework next to this script, holding
# static libraries of act-uniffi for macOS (arm64 + x86_64), iOS (arm64) and the iOS
# simulator (arm64 + x86_64), with the generated header and modulemap. Package.swift uses
# it instead of target/release when it exists.
#   bindings/swift/build-xcframework.sh
set -euo pipefail
if [ "$(uname -s)" != Darwin ]; then
    echo "build-xcframework.sh needs macOS with Xcode (xcodebuild, lipo)" >&2
    exit 1
fi
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

targets=(aarch64-apple-darwin x86_64-apple-darwin aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios)
rustup target add "${targets[@]}"
for t in "${targets[@]}"; do
    # The crate is cdylib + lib; a static library is what an XCFramework links into an app.
    cargo rustc --release --locked -p act-uniffi --lib --crate-type staticlib --target "$t"
done

build="$root/target/xcframework"
rm -rf "$build" "$here/ActFFI.xcframework"
mkdir -p "$build/headers" "$build/macos" "$build/ios" "$build/ios-sim"
cp "$here/Sources/ActFFI/ActFFI.h" "$build/headers/"
# uniffi's generated modulemap, under the name Xcode looks for.
cp "$here/Sources/ActFFI/ActFFI.modulemap" "$build/headers/module.modulemap"

lib=libact_uniffi.a
lipo -create "target/aarch64-apple-darwin/release/$lib" "target/x86_64-apple-darwin/release/$lib" -output "$build/macos/$lib"
cp "target/aarch64-apple-ios/release/$lib" "$build/ios/$lib"
lipo -create "target/aarch64-apple-ios-sim/release/$lib" "target/x86_64-apple-ios/release/$lib" -output "$build/ios-sim/$lib"

xcodebuild -create-xcframework \
    -library "$build/macos/$lib" -headers "$build/headers" \
    -library "$build/ios/$lib" -headers "$build/headers" \
    -library "$build/ios-sim/$lib" -headers "$build/headers" \
    -output "$here/ActFFI.xcframework"
echo "wrote $here/ActFFI.xcframework"
