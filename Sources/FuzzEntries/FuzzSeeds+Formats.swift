import MigrationWire
import Snapshot

extension FuzzSeeds {
    /// A snapshot file laid out as `SnapshotFileWriter` writes one: the header, then each
    /// section's header, body and checksum, then the end section with its counts.
    static func snapshot(_ header: SnapshotHeader, _ sections: [(SnapshotFormat.SectionType, MigrationMessage)]) -> [UInt8] {
        var out = header.encode()
        var pages: UInt64 = 0
        func section(_ type: SnapshotFormat.SectionType, _ body: [UInt8]) {
            let head = le(UInt64(type.rawValue), 4) + le(0, 4) + le(UInt64(body.count), 8)
            let sum = head.withUnsafeBytes { h in body.withUnsafeBytes { SnapshotFormat.checksum(header: h, body: $0) } }
            out += head + body + le(sum, 8)
        }
        for (type, m) in sections {
            section(type, Array(frame([m])[4...]))
            if case .pages(_, let list) = m { pages += UInt64(list.count) }
        }
        section(.end, le(UInt64(sections.count), 8) + le(pages, 8))
        return out
    }

    static func le(_ v: UInt64, _ bytes: Int) -> [UInt8] { (0..<bytes).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) } }

    static func snapshots() -> [(name: String, bytes: [UInt8])] {
        var c = config
        c.image = Array("not an ELF: the reader does not parse it".utf8)
        c.imageDigest = c.image.withUnsafeBytes { PageDigest.of($0) }
        let full = SnapshotHeader(kind: .full, id: SnapshotID(bytes: .init(repeating: 1, count: 16)), base: nil, sequence: 0)
        let incremental = SnapshotHeader(kind: .incremental, id: SnapshotID(bytes: .init(repeating: 2, count: 16)),
                                         base: full.id, sequence: 1)
        let pages = MigrationMessage.pages(slot: 0, [PageRecord(page: 1, data: page), PageRecord(page: 2, data: nil)])
        return [
            (name: "full", bytes: snapshot(full, [(.config, .config(c)), (.pages, pages), (.vcpuState, .vcpuState(index: 0, state: vcpuState)),
                                                  (.deviceState, .deviceState(device))])),
            (name: "incremental", bytes: snapshot(incremental, [(.pages, .pages(slot: 1, [PageRecord(page: 0, data: nil)])),
                                                                (.vcpuState, .vcpuState(index: 0, state: vcpuState)),
                                                                (.deviceState, .deviceState(device))])),
        ]
    }

    /// Every client message the VNC server reads (RFB 6.4, QEMU's extended key, continuous
    /// updates and fences), big-endian.
    static func rfb() -> [(name: String, bytes: [UInt8])] {
        func be(_ v: UInt64, _ n: Int) -> [UInt8] { le(v, n).reversed() }
        let format: [UInt8] = [32, 24, 0, 1] + be(255, 2) + be(255, 2) + be(255, 2) + [16, 8, 0, 0, 0, 0]
        let messages: [(String, [UInt8])] = [
            ("set-pixel-format", [0, 0, 0, 0] + format),
            ("set-encodings", [2, 0] + be(4, 2) + be(0, 4) + be(16, 4) + be(7, 4) + be(UInt64(UInt32(bitPattern: -223)), 4)),
            ("update-request", [3, 1] + be(0, 2) + be(0, 2) + be(320, 2) + be(200, 2)),
            ("key", [4, 1, 0, 0] + be(0x61, 4)), ("pointer", [5, 1] + be(10, 2) + be(20, 2)),
            ("cut-text", [6, 0, 0, 0] + be(5, 4) + Array("hello".utf8)),
            ("extended-key", [255, 0] + be(1, 2) + be(0x61, 4) + be(30, 4)),
            ("continuous-updates", [150, 1] + be(0, 2) + be(0, 2) + be(320, 2) + be(200, 2)),
            ("fence", [248, 0, 0, 0] + be(0x8000_0002, 4) + [3, 1, 2, 3]),
        ]
        return messages.map { (name: $0.0, bytes: $0.1) } + [(name: "session", bytes: messages.flatMap(\.1))]
    }

    static func control() -> [(name: String, bytes: [UInt8])] {
        let lines = ["status", "pause", "resume", "cancel", "quit", "migrate 127.0.0.1:4444",
                     "migrate [::1]:4444 --max-downtime 30 --max-bandwidth 10M --max-rounds 8 --verify-migration --migrate-compress auto",
                     "snapshot /tmp/full.snap", "snapshot \"/tmp/a b.snap\" --incremental /tmp/full.snap"]
        return lines.enumerated().map { (name: "line-\($0.offset)", bytes: Array(($0.element + "\n").utf8)) }
    }
}
