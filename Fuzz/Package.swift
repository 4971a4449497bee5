// swift-tools-version: 6.1
import PackageDescription

// libFuzzer binaries over Ringside's fuzz targets (Sources/FuzzEntries), one per target. Built apart
// from the main package, so `swift build` there never needs -sanitize=fuzzer:
//   swift build --package-path Fuzz -c release -Xswiftc -sanitize=fuzzer,address
// scripts/fuzz.sh TARGET [RUNS] builds and runs one (docs/testing.md).
let package = Package(
    name: "RingsideFuzz",
    platforms: [.macOS(.v14)],
    dependencies: [.package(name: "Ringside", path: "..")],
    targets: [
        .executableTarget(name: "fuzz-migration-decoder", dependencies: [.product(name: "FuzzEntries", package: "Ringside")], path: "Sources/MigrationDecoder"),
        .executableTarget(name: "fuzz-destination", dependencies: [.product(name: "FuzzEntries", package: "Ringside")], path: "Sources/Destination"),
        .executableTarget(name: "fuzz-snapshot-reader", dependencies: [.product(name: "FuzzEntries", package: "Ringside")], path: "Sources/SnapshotReader"),
        .executableTarget(name: "fuzz-rfb-client", dependencies: [.product(name: "FuzzEntries", package: "Ringside")], path: "Sources/RFBClient"),
        .executableTarget(name: "fuzz-control-line", dependencies: [.product(name: "FuzzEntries", package: "Ringside")], path: "Sources/ControlLine"),
    ]
)
