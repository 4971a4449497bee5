// swift-tools-version: 6.1
import PackageDescription

// Layers, arrows pointing one way:
//   CKVM -> KVM -> Machine -> Tracking -> ringside (CLI)
//   Display (no KVM) -> Tracking, PNGOutput, Window -> ringside
//   Display -> RFB (no KVM, no Tracking); Tracking + RFB -> VNCTracking -> Bench, ringside
let package = Package(
    name: "Ringside",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "ringside", targets: ["ringside"]),
        // For the separate microbenchmark package (Benchmarks/), which depends on this one by path.
        .library(name: "RingsideCore", targets: ["KVM", "Machine", "Display", "Tracking", "Input"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
    ],
    targets: [
        // C shim for <linux/kvm.h>: fixed-arity ioctl wrappers and atomics on kernel-shared memory.
        .target(name: "CKVM"),
        .target(name: "KVM", dependencies: ["CKVM"]),
        // The guest ABI (layout, boot info, counters, ports) as one C header, shared with assets/guests.
        .target(name: "CGuestABI"),
        // Input events for the guest (evdev codes, absolute pointer) and the --input-script format. No KVM.
        .target(name: "Input"),
        .target(name: "Machine", dependencies: ["KVM", "CKVM", "CGuestABI", "Input"]),
        // Display core: tile geometry, dirty-tile bitmap, shadow framebuffer. Knows nothing of KVM.
        .target(name: "Display"),
        .target(name: "Tracking", dependencies: ["KVM", "Machine", "Display"]),
        // `ringside verify`: the no-lost-page check users run on their own host.
        .target(name: "NoLossCheck", dependencies: ["Tracking", "Machine", "Display", "KVM"]),
        // The migration stream's messages: framing and encoding only (no KVM, no sockets).
        .target(name: "MigrationWire"),
        // Live migration between two ringside processes: pre-copy from the dirty list over SwiftNIO.
        .target(name: "LiveMigration", dependencies: [
            "Tracking", "Machine", "KVM", "MigrationWire", "Input",
            .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        // libpng shim (setjmp error handling stays in C).
        .target(name: "CPNG", linkerSettings: [.linkedLibrary("png")]),
        .target(name: "PNGOutput", dependencies: ["Display", "CPNG"]),
        // zlib, libjpeg-turbo (Tight JPEG) and libcrypto (DES) shim for the RFB server.
        .target(name: "CRFB", linkerSettings: [.linkedLibrary("z"), .linkedLibrary("jpeg"), .linkedLibrary("crypto")]),
        // The VNC (RFB) server: protocol, encodings, per-client updates over SwiftNIO. No KVM.
        .target(name: "RFB", dependencies: [
            "Display", "Input", "CRFB",
            .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "NIOWebSocket", package: "swift-nio"),
        ]),
        // The tracking session as the RFB server's framebuffer, and a server on a session: the one
        // Tracking-to-RFB adapter, shared by the CLI (`--vnc`) and the benchmark.
        .target(name: "VNCTracking", dependencies: ["Tracking", "RFB", "Display", "Input"]),
        .target(name: "CSDL", linkerSettings: [.linkedLibrary("SDL2"), .linkedLibrary("X11")]),
        .target(name: "Window", dependencies: ["Display", "CSDL", "PNGOutput", "Input"]),
        // `ringside bench`: the tracking-mode matrix. Returns records through callbacks; never prints.
        .target(name: "Bench", dependencies: ["Tracking", "Machine", "Display", "KVM", "LiveMigration", "MigrationWire", "Input", "RFB", "VNCTracking"]),
        .executableTarget(
            name: "ringside",
            dependencies: [
                "KVM", "Machine", "Display", "Tracking", "PNGOutput", "Window", "Bench", "NoLossCheck", "LiveMigration", "Input", "RFB", "VNCTracking",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .target(name: "TestSupport", dependencies: ["KVM", "Machine", "Input"], path: "Tests/TestSupport"),
        .testTarget(name: "KVMTests", dependencies: ["KVM", "TestSupport"]),
        .testTarget(name: "MachineTests", dependencies: ["Machine", "Input", "TestSupport"]),
        .testTarget(name: "DisplayTests", dependencies: ["Display"]),
        .testTarget(name: "TrackingTests", dependencies: ["Tracking", "Machine", "Display", "TestSupport", "NoLossCheck"]),
        .testTarget(name: "PNGOutputTests", dependencies: ["PNGOutput", "Display"]),
        .testTarget(name: "WindowTests", dependencies: ["Window", "Display", "Input", "TestSupport"]),
        // MigrationWire, Machine and KVM: the migration fault tests hand-build streams with real vCPU state.
        .testTarget(name: "RingsideCLITests", dependencies: ["TestSupport", "MigrationWire", "Machine", "KVM", "RFB"]),
        .testTarget(name: "MigrationWireTests", dependencies: ["MigrationWire"]),
        .testTarget(name: "InputTests", dependencies: ["Input"]),
        .testTarget(name: "RFBTests", dependencies: ["RFB", "Display", "Input", .product(name: "NIOCore", package: "swift-nio")]),
        .testTarget(name: "BenchTests", dependencies: ["Bench", "Tracking", "TestSupport"]),
    ]
)
