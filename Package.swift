// swift-tools-version: 6.1
import PackageDescription

// Targets are layers: each imports only targets of lower layers, so the arrows point one way
// (docs/architecture.md draws every edge; scripts/graph-check.py checks the three agree):
//   0  CKVM, CGuestABI, Input, Display (no KVM); C shims CZlib, CPNG, CRFB, CSDL, CQEMUPeer, CPeerBench
//   1  KVM, SplitView, MigrationWire (the migration stream: no KVM, no sockets)
//   2  Machine, PNGOutput, RFB (no KVM), Window
//   3  Tracking, QEMUPeer (QEMU as a peer)
//   4  NoLossCheck, LiveMigration, VNCTracking (the Tracking-to-RFB adapter), PeerBench
//   5  Snapshot (snapshots to disk, in the migration stream's messages)
//   6  GuestSession (a running guest: run, receive, restore, the migration bench)
//   7  Control (the control socket), Bench
//   8  ringside (the CLI: the only target that prints or exits); FuzzEntries (the fuzz targets, for Fuzz/ and the corpus test)
// Main path: CKVM -> KVM -> Machine -> Tracking -> LiveMigration -> GuestSession -> ringside.
let package = Package(
    name: "Ringside",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "ringside", targets: ["ringside"]),
        // For the separate microbenchmark package (Benchmarks/), which depends on this one by path.
        .library(name: "RingsideCore", targets: ["KVM", "Machine", "Display", "Tracking", "Input"]),
        // For the libFuzzer package (Fuzz/): the fuzz targets' entry functions.
        .library(name: "FuzzEntries", targets: ["FuzzEntries"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.0"),
    ],
    targets: [
        // C shim for <linux/kvm.h>: fixed-arity ioctl wrappers and atomics on kernel-shared memory.
        .target(name: "CKVM"),
        .target(name: "KVM", dependencies: ["CKVM"]),
        // The guest ABI (layout, boot info, counters, ports) as one C header, shared with assets/guests.
        .target(name: "CGuestABI"),
        // Input events for the guest (evdev codes, absolute pointer) and the --input-script format. No KVM.
        .target(name: "Input"),
        .target(name: "Machine", dependencies: ["KVM", "CGuestABI", "Input"]),
        // Display core: tile geometry, dirty-tile bitmap, shadow framebuffer. Knows nothing of KVM.
        .target(name: "Display"),
        .target(name: "Tracking", dependencies: ["KVM", "Machine", "Display"]),
        // `ringside verify`: the no-lost-page check users run on their own host.
        .target(name: "NoLossCheck", dependencies: ["Tracking", "Machine", "Display", "KVM"]),
        // The migration stream's messages: framing and encoding only (no KVM, no sockets).
        .target(name: "MigrationWire", dependencies: ["CZlib"]),
        // zlib for the migration stream's compressed page batches (one-shot deflate, bounded inflate).
        .target(name: "CZlib", linkerSettings: [.linkedLibrary("z")]),
        // Live migration between two ringside processes: pre-copy from the dirty list over SwiftNIO.
        .target(name: "LiveMigration", dependencies: [
            "Tracking", "Machine", "KVM", "MigrationWire", "Input",
            .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"), .product(name: "NIOTLS", package: "swift-nio"),
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
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ]),
        // The --show-split picture: the screen beside the migration page list, on a PixelCanvas.
        .target(name: "SplitView", dependencies: ["Display"]),
        // The tracking session as the RFB server's framebuffer, and a server on a session: the one
        // Tracking-to-RFB adapter, shared by the CLI (`--vnc`) and the benchmark.
        .target(name: "VNCTracking", dependencies: ["Tracking", "Machine", "RFB", "Display", "Input"]),
        .target(name: "CSDL", linkerSettings: [.linkedLibrary("SDL2"), .linkedLibrary("X11")]),
        // The SDL window: shows the shadow (or the split view), forwards input. Saves no files.
        .target(name: "Window", dependencies: ["Display", "SplitView", "CSDL", "Input"]),
        // Snapshots to disk: full and incremental (the dirty pages of a migration subscriber), written
        // atomically as sections of migration-stream messages with a checksum each; restore into a new machine.
        .target(name: "Snapshot", dependencies: ["Tracking", "Machine", "KVM", "MigrationWire", "LiveMigration"]),
        // A running guest, shared by `run`, `receive` and the benchmarks: boot or receive, PNG files, input
        // script, sync loop, timers, the outgoing migration, the summary as data. Reports through events; never prints.
        .target(name: "GuestSession", dependencies: [
            "Tracking", "Machine", "KVM", "Display", "PNGOutput", "SplitView", "LiveMigration", "MigrationWire", "Input", "Snapshot",
            .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        // The control socket (`run --control PATH`, `ringside ctl PATH COMMAND`): its line protocol, the
        // server on NIO's Unix sockets, the client. Answers through GuestSession; never prints.
        .target(name: "Control", dependencies: [
            "GuestSession", "LiveMigration", "Snapshot",
            .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        // `ringside bench`: the tracking-mode matrix. Returns records through callbacks; never prints.
        .target(name: "Bench", dependencies: [
            "Tracking", "Machine", "Display", "KVM", "LiveMigration", "MigrationWire", "Input", "RFB", "VNCTracking", "GuestSession",
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        // The boot stub's state page (assets/peers/qemu) and a spawn that cannot outlive its parent.
        .target(name: "CQEMUPeer"),
        // `ringside qemu` and the QEMU side of `bench --peer qemu`: QEMU's command line, QMP, the stub's state.
        .target(name: "QEMUPeer", dependencies: ["CQEMUPeer", "CGuestABI", "Machine"]),
        // The benchmark client's per-pixel work (zlib, ZRLE, Tight, a picture hash) in C.
        .target(name: "CPeerBench", linkerSettings: [.linkedLibrary("z")]),
        // `ringside bench --peer qemu`: Ringside and QEMU side by side on the same guest and client. Never prints.
        .target(name: "PeerBench", dependencies: ["QEMUPeer", "CPeerBench", "Machine", "KVM"]),
        .executableTarget(
            name: "ringside",
            dependencies: [
                "KVM", "Machine", "Display", "Tracking", "PNGOutput", "SplitView", "Window", "Bench", "NoLossCheck", "LiveMigration", "Input", "RFB",
                "VNCTracking", "GuestSession", "QEMUPeer", "PeerBench", "Control", "Snapshot",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The fuzz targets (migration decoder, destination, snapshot reader, VNC client messages, control
        // lines): any bytes in, an outcome out. Driven by libFuzzer (Fuzz/) and by the corpus test.
        .target(name: "FuzzEntries", dependencies: [
            "MigrationWire", "LiveMigration", "Machine", "KVM", "Snapshot", "RFB", "Control", .product(name: "NIOCore", package: "swift-nio"),
        ]),
        // What the tests share: waits with deadlines, processes, SplitMix, the CI rule for
        // missing tools (docs/testing.md).
        .target(name: "TestSupport", dependencies: ["KVM", "Machine", "Input"], path: "Tests/TestSupport"),
        .testTarget(name: "KVMTests", dependencies: ["KVM", "TestSupport"]),
        .testTarget(name: "MachineTests", dependencies: ["Machine", "Input", "TestSupport"]),
        .testTarget(name: "DisplayTests", dependencies: ["Display", "TestSupport"]),
        .testTarget(name: "TrackingTests", dependencies: ["Tracking", "Machine", "Display", "TestSupport", "NoLossCheck"]),
        .testTarget(name: "PNGOutputTests", dependencies: ["PNGOutput", "Display", "TestSupport"]),
        .testTarget(name: "SplitViewTests", dependencies: ["SplitView", "Display"]),
        .testTarget(name: "WindowTests", dependencies: ["Window", "SplitView", "Display", "Input", "TestSupport"]),
        // MigrationWire, Machine and KVM: the migration fault tests hand-build streams with real vCPU state.
        .testTarget(name: "RingsideCLITests", dependencies: ["TestSupport", "MigrationWire", "Machine", "KVM", "RFB"]),
        .testTarget(name: "MigrationWireTests", dependencies: ["MigrationWire", "CZlib", "TestSupport"]),
        .testTarget(name: "LiveMigrationTests", dependencies: ["LiveMigration", "MigrationWire", "Machine", "Input", "TestSupport"]),
        .testTarget(name: "GuestSessionTests", dependencies: ["GuestSession"]),
        .testTarget(name: "SnapshotTests", dependencies: ["Snapshot", "MigrationWire", "Tracking", "Machine", "KVM", "TestSupport"]),
        .testTarget(name: "ControlTests", dependencies: ["Control", "TestSupport", .product(name: "NIOCore", package: "swift-nio")]),
        .testTarget(name: "InputTests", dependencies: ["Input", "TestSupport"]),
        .testTarget(name: "RFBTests", dependencies: ["RFB", "Display", "Input", "TestSupport", .product(name: "NIOCore", package: "swift-nio")]),
        .testTarget(name: "QEMUPeerTests", dependencies: ["QEMUPeer", "Machine", "TestSupport"]),
        .testTarget(name: "FuzzEntriesTests", dependencies: ["FuzzEntries"]),
        .testTarget(name: "BenchTests", dependencies: ["Bench", "Tracking", "TestSupport"]),
    ]
)
