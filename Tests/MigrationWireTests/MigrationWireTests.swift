@testable import MigrationWire
import Testing
import TestSupport

@Suite("MigrationWire")
struct MigrationWireTests {
    static let samples: [MigrationMessage] = [
        .hello(version: 1, capabilities: 3),
        .config(MigrationConfig(imageName: "desktop", image: [1, 2, 3], imageDigest: 99, arguments: "windows=3", ramBytes: 256 << 20,
                                cpus: 2, width: 1280, height: 800, pitch: 5120, guestHz: 60, tracking: "ring", ringEntries: 4096,
                                tileWidth: 64, tileHeight: 16, verify: true)),
        .pages(slot: 1, [PageRecord(page: 7, data: [UInt8](repeating: 0xAB, count: 4096)), PageRecord(page: 9, data: nil)]),
        .roundEnd(round: 3, pages: 1234),
        .vcpuState(index: 1, state: [9, 8, 7]),
        .deviceState(DeviceState(frames: [10, 11], uptimeNanos: 5)),
        .deviceState(DeviceState(frames: [7], uptimeNanos: 0, waitingInput: [
            WaitingInputEvent(type: 1, code: 30, value: 1, x: 0, y: 0), WaitingInputEvent(type: 4, code: 0, value: -3, x: -1, y: 0),
            WaitingInputEvent(type: 2, code: 0, value: 0, x: 7679, y: Int32.min),
        ])),
        .deviceState({
            var d = DeviceState(frames: [3, 4], uptimeNanos: UInt64.max - 7)
            d.consoleUnfinished = [Array("half a li".utf8), []]
            return d
        }()),
        .digests(slot: 0, [PageDigestRecord(page: 1, digest: 0xDEAD)]),
        .accepted(stateNanos: 250_000), .complete, .ready, .commit(pausedNanos: 1_500_000, sinceReadyNanos: 40_000),
        .started(resumeNanos: 300_000), .abort("destination refused the config"),
        .heartbeat, .roundAck(round: 2, pages: 900, loadNanos: 1_000_000), .outcomeQuery(migration: 0xFEED_F00D_0000_0001),
        .outcome(started: true, resumeNanos: 12), .outcome(started: false, resumeNanos: 0), .done,
        .config({
            var c = MigrationConfig(imageName: "big", image: [UInt8](repeating: 0x5A, count: 5 << 20), imageDigest: 1, arguments: "",
                                    ramBytes: 32 << 20, cpus: 1, width: 320, height: 200, pitch: 1280, guestHz: 0, tracking: "bitmap",
                                    ringEntries: 0, tileWidth: 64, tileHeight: 16, verify: false)
            c.maxWidth = 640; c.maxHeight = 480; c.migrationID = UInt64.max
            return c
        }()),
    ]

    func frames(_ m: MigrationMessage) -> [UInt8] { var out: [UInt8] = []; MigrationWire.encode(m, into: &out); return out }

    func decodeFrame(_ bytes: [UInt8]) throws -> MigrationMessage {
        let n = try #require(try MigrationWire.frameLength(bytes))
        #expect(bytes.count == 4 + n)
        return try MigrationWire.decode(Array(bytes[4...]))
    }

    @Test("every message reads back as written")
    func roundTrip() throws {
        for m in Self.samples { #expect(try decodeFrame(frames(m)) == m) }
    }

    @Test("encodePages writes the same frame as a pages message")
    func encodePagesMatches() throws {
        let page = [UInt8](repeating: 0x5A, count: 4096)
        var out: [UInt8] = []
        page.withUnsafeBytes { raw in
            MigrationWire.encodePages(slot: 0, pages: [3, 4], into: &out) { $0 == 3 ? raw : nil }
        }
        #expect(try decodeFrame(out) == .pages(slot: 0, [PageRecord(page: 3, data: page), PageRecord(page: 4, data: nil)]))
    }

    @Test("every truncation of every message is an error, never a trap")
    func truncations() {
        for m in Self.samples where frames(m).count < 1 << 20 {
            let body = Array(frames(m)[4...])
            for cut in 0..<body.count {
                #expect(throws: MigrationWireError.self) { try MigrationWire.decode(Array(body[..<cut])) }
            }
        }
    }

    @Test("bad magic, unknown types, oversized counts and frames are refused with a reason")
    func refusals() throws {
        #expect(throws: MigrationWireError.self) { try MigrationWire.decode([1] + Array("XXXXX".utf8) + [1, 0, 0, 0, 0, 0]) }
        #expect(throws: MigrationWireError.self) { try MigrationWire.decode([200]) }
        #expect(throws: MigrationWireError.self) { try MigrationWire.decode([3, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF]) }
        #expect(throws: MigrationWireError.self) { try MigrationWire.frameLength([0xFF, 0xFF, 0xFF, 0x7F]) }
        #expect(throws: MigrationWireError.self) { try MigrationWire.frameLength([0, 0, 0, 0]) }
        // A device state claiming more waiting input events than the limit.
        #expect(throws: MigrationWireError.malformed("65537 waiting input events (the limit is 65536)")) {
            try MigrationWire.decode([6, 0, 0, 0, 0] + [UInt8](repeating: 0, count: 8) + [0x01, 0x00, 0x01, 0x00])
        }
        #expect(try MigrationWire.frameLength([1, 0]) == nil, "a partial header waits for more")
        #expect(throws: MigrationWireError.malformed("not a Ringside migration stream (it starts with \"GET \")")) {
            try MigrationWire.frameLength(Array("GET / HTTP/1.1".utf8))
        }
        var extra = Array(frames(.complete)[4...]); extra.append(0)
        #expect(throws: MigrationWireError.self) { try MigrationWire.decode(extra) }
        #expect(throws: MigrationWireError.malformed("outcome flag 2")) { try MigrationWire.decode([17, 2] + [UInt8](repeating: 0, count: 8)) }
    }

    @Test("a config frame may carry an image up to the documented limit; no other frame is over 4 MiB")
    func configFrames() throws {
        let big = 5 << 20
        let length: [UInt8] = [UInt8(big & 0xFF), UInt8(big >> 8 & 0xFF), UInt8(big >> 16 & 0xFF), UInt8(big >> 24)]
        #expect(try MigrationWire.frameLength(length) == nil, "the type byte decides: wait for it")
        #expect(try MigrationWire.frameLength(length + [2]) == big, "a config")
        #expect(throws: MigrationWireError.malformed("a frame of \(big) bytes (the limit is 4194304, 68157440 for a config)")) {
            try MigrationWire.frameLength(length + [3])
        }
        let tooBig = MigrationWire.maxConfigFrameBytes + 1
        #expect(throws: MigrationWireError.self) {
            try MigrationWire.frameLength([UInt8(tooBig & 0xFF), UInt8(tooBig >> 8 & 0xFF), UInt8(tooBig >> 16 & 0xFF), UInt8(tooBig >> 24), 2])
        }
        #expect(MigrationWire.maxImageBytes == 64 << 20)
    }

    @Test("a long randomized fuzz of the decoder never traps")
    func fuzz() {
        var rng = SplitMix(seed: 2026)
        var decoded = 0, refused = 0
        let seeds = Self.samples.map { Array(frames($0)[4...]) }.filter { $0.count < 1 << 20 } + PageCompressionTests.seeds
        for i in 0..<200_000 {
            var body = seeds[i % seeds.count]
            let edits = Int(rng.next() % 6)
            for _ in 0..<edits where !body.isEmpty {
                let at = Int(rng.next() % UInt64(body.count))
                switch rng.next() % 4 {
                case 0: body[at] = UInt8(truncatingIfNeeded: rng.next())
                case 1: body.removeSubrange(at...)
                case 2: body.insert(UInt8(truncatingIfNeeded: rng.next()), at: at)
                default: body[at] ^= 0x80
                }
            }
            if (try? MigrationWire.decode(body)) != nil { decoded += 1 } else { refused += 1 }
        }
        #expect(decoded + refused == 200_000)
        #expect(refused > 1000, "mutations were mostly caught")
    }

    @Test("the page digest differs when one byte differs")
    func digest() {
        var a = [UInt8](repeating: 0, count: 4096)
        let d0 = a.withUnsafeBytes { PageDigest.of($0) }
        a[4095] = 1
        let d1 = a.withUnsafeBytes { PageDigest.of($0) }
        a[4095] = 0; a[0] = 1
        let d2 = a.withUnsafeBytes { PageDigest.of($0) }
        #expect(d0 != d1 && d0 != d2 && d1 != d2)
    }
}

