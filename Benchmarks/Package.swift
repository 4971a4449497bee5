// swift-tools-version: 6.1
import PackageDescription

// Microbenchmarks of Ringside's hot paths (ordo-one/benchmark), kept out of the root package
// so `swift build` and `swift test` there never build the benchmark tooling.
//   cd Benchmarks && swift package --disable-sandbox benchmark
// (--disable-sandbox: the end-to-end benchmark opens /dev/kvm.)
let package = Package(
    name: "RingsideBenchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "Ringside", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", exact: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        // The plugin finds benchmark targets under Benchmarks/<name>/ of this package.
        .executableTarget(
            name: "HotPaths",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "RingsideCore", package: "Ringside"),
            ],
            path: "Benchmarks/HotPaths",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
