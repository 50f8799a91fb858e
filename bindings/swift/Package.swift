// swift-tools-version:5.9
// ACT for Swift: the uniffi-generated bindings of act-uniffi (Sources/ActSDK/ActSDK.swift and
// Sources/ActFFI/ActFFI.h are generated; ../run_kotlin_tests.sh regenerates and diffs them).
//
// Two ways to get the native library:
// - development on macOS: `cargo build --release -p act-uniffi` at the repository root, then
//   `swift test` here links ../../target/release/libact_uniffi.dylib (or $ACT_NATIVE_DIR);
// - apps: `./build-xcframework.sh` writes ActFFI.xcframework next to this file, and the
//   package then uses it instead (static libraries for macOS, iOS and the iOS simulator).
import Foundation
import PackageDescription

let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
let useXCFramework = FileManager.default.fileExists(atPath: here.appendingPathComponent("ActFFI.xcframework").path)
let nativeDir = ProcessInfo.processInfo.environment["ACT_NATIVE_DIR"]
    ?? here.appendingPathComponent("../../target/release").standardizedFileURL.path

let ffi: Target = useXCFramework
    ? .binaryTarget(name: "ActFFI", path: "ActFFI.xcframework")
    : .systemLibrary(name: "ActFFI", path: "Sources/ActFFI")

let package = Package(
    name: "ActSDK",
    platforms: [.macOS(.v12), .iOS(.v15)],
    products: [
        .library(name: "ActSDK", targets: ["ActSDK"]),
    ],
    targets: [
        ffi,
        .target(
            name: "ActSDK",
            dependencies: ["ActFFI"],
            path: "Sources/ActSDK",
            linkerSettings: useXCFramework ? [] : [
                .unsafeFlags(["-L", nativeDir, "-Xlinker", "-rpath", "-Xlinker", nativeDir]),
            ]
        ),
        .testTarget(
            name: "ActSDKTests",
            dependencies: ["ActSDK"],
            path: "Tests/ActSDKTests"
        ),
    ]
)
