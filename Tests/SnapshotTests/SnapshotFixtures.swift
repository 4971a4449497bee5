import Foundation
import MigrationWire
@testable import Snapshot
import XCTest

/// Small snapshot files built section by section with the real writer (no KVM): what the
/// reader must take back exactly, and damage.
enum SnapshotFixtures {
    static let config: MigrationConfig = {
        let image: [UInt8] = Array("not an ELF, but the reader does not parse it".utf8)
        var c = MigrationConfig(imageName: "fixture", image: image, imageDigest: image.withUnsafeBytes { PageDigest.of($0) }, arguments: "a=1",
                                ramBytes: 16 << 20, cpus: 1, width: 320, height: 200, pitch: 1280, guestHz: 60, tracking: "ring",
                                ringEntries: 4096, tileWidth: 64, tileHeight: 16, verify: false)
        c.maxWidth = 320
        c.maxHeight = 200
        return c
    }()

    /// A page of `byte`s.
    static func page(_ byte: UInt8) -> [UInt8] { [UInt8](repeating: byte, count: MigrationWire.pageSize) }

    /// The sections of a valid snapshot of `kind`: for a full one the config first; then
    /// `pages` (slot 0, as records), one vCPU state per `vcpus`, the device state.
    static func sections(kind: SnapshotFormat.Kind, pages: [PageRecord], vcpus: Int = 1) -> [(SnapshotFormat.SectionType, MigrationMessage)] {
        var out: [(SnapshotFormat.SectionType, MigrationMessage)] = []
        if kind == .full { out.append((.config, .config(config))) }
        if !pages.isEmpty { out.append((.pages, .pages(slot: 0, pages))) }
        for i in 0..<vcpus { out.append((.vcpuState, .vcpuState(index: UInt32(i), state: [1, 2, 3, UInt8(i)]))) }
        var device = DeviceState(frames: Array(repeating: 42, count: vcpus), uptimeNanos: 123_456_789)
        device.consoleUnfinished = [Array("half a li".utf8)]
        out.append((.deviceState, .deviceState(device)))
        return out
    }

    /// Writes the sections (and the end) to `path` as a snapshot with `header`.
    static func write(_ path: String, header: SnapshotHeader, _ sections: [(SnapshotFormat.SectionType, MigrationMessage)],
                      endPages: UInt64? = nil) throws {
        let w = try SnapshotFileWriter(path: path, header: header)
        var pages: UInt64 = 0
        for (type, m) in sections {
            var frame: [UInt8] = []
            MigrationWire.encode(m, into: &frame)
            try w.section(type, frame, from: 4)
            if case .pages(_, let list) = m { pages += UInt64(list.count) }
        }
        try w.section(.end, SnapshotEnd(sections: w.sections, pages: endPages ?? pages).encode())
        try w.commit()
    }

    static func fullHeader() -> SnapshotHeader { SnapshotHeader(kind: .full, id: .random(), base: nil, sequence: 0) }

    /// Reads every section of `bytes`; throws the reader's error.
    static func readAll(_ bytes: [UInt8]) throws -> (SnapshotHeader, [SnapshotSection]) {
        var r = try SnapshotReader(SnapshotMemorySource(bytes))
        var out: [SnapshotSection] = []
        while let s = try r.next() { out.append(s) }
        return (r.header, out)
    }

    static func tempDir(_ test: XCTestCase) throws -> String {
        let d = NSTemporaryDirectory() + "ringside-snap-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(atPath: d) }
        return d
    }

    static func bytes(_ path: String) -> [UInt8] { [UInt8](FileManager.default.contents(atPath: path) ?? Data()) }
}
