// swift-tools-version: 6.1
import PackageDescription

// libFuzzer binaries over Ringside's fuzz targets (Sources/FuzzEntries of the main package), one
// per target. Built apart from the main package, so `swift build` there never needs -sanitize=fuzzer:
//   swift build --package-path Fuzz -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -Xclang-linker -Xswiftc -fuse-ld=lld
// scripts/fuzz.sh TARGET [RUNS] builds and runs one (docs/testing.md).
let package = Package(
    name: "RingsideFuzz",
    platforms: [.macOS(.v14)],
    dependencies: [.package(name: "Ringside", path: "..")],
    targets: [
        // libFuzzer's driver entry point, declared for Swift.
        .target(name: "CLibFuzzer"),
        // Each binary's main: libFuzzer's driver over one FuzzTarget.
        .target(name: "FuzzDriver", dependencies: ["CLibFuzzer", .product(name: "FuzzEntries", package: "Ringside")]),
        .executableTarget(name: "fuzz-migration-decoder", dependencies: ["FuzzDriver", .product(name: "FuzzEntries", package: "Ringside")], path: "Sources/MigrationDecoder"),
        .executableTarget(name: "fuzz-destination", dependencies: ["FuzzDriver", .product(name: "FuzzEntries", package: "Ringside")], path: "Sources/Destination"),
        .executableTarget(name: "fuzz-snapshot-reader", dependencies: ["FuzzDriver", .product(name: "FuzzEntries", package: "Ringside")], path: "Sources/SnapshotReader"),
        .executableTarget(name: "fuzz-rfb-client", dependencies: ["FuzzDriver", .product(name: "FuzzEntries", package: "Ringside")], path: "Sources/RFBClient"),
        .executableTarget(name: "fuzz-control-line", dependencies: ["FuzzDriver", .product(name: "FuzzEntries", package: "Ringside")], path: "Sources/ControlLine"),
    ]
)
