import CZlib
@testable import MigrationWire
import Testing
import TestSupport

/// Compressed page batches: a `compressed-pages` frame decodes to the `pages` message it holds,
/// and every lie in one (truncated, a wrong declared length, a zip bomb) is one error, never a trap.
@Suite("MigrationWire compressed pages")
struct PageCompressionTests {
    /// A pages frame of a desktop-like page (runs of a few colours) and a zero page.
    static func pagesFrame() -> [UInt8] {
        var page = [UInt8](repeating: 0x20, count: 4096)
        for i in stride(from: 0, to: 4096, by: 64) { page[i] = UInt8(i / 64) }
        var out: [UInt8] = []
        MigrationWire.encode(.pages(slot: 1, [PageRecord(page: 3, data: page), PageRecord(page: 4, data: nil)]), into: &out)
        return out
    }

    static func compressed(_ frame: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        #expect(MigrationWire.compressPagesFrame(frame, level: 1, into: &out))
        return out
    }

    static func deflate(_ bytes: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: czlib_bound(bytes.count))
        let n = czlib_deflate(bytes, bytes.count, &out, out.count, 9)
        return Array(out[..<Int(n)])
    }

    /// A compressed-pages body with any declared length, method and stream.
    static func body(declared: UInt32, method: UInt8 = 1, stream: [UInt8]) -> [UInt8] {
        [19] + withUnsafeBytes(of: declared.littleEndian, Array.init) + [method] + stream
    }

    /// Compressed samples for the decoder's fuzz: a batch of text-like pages and a single page.
    static var seeds: [[UInt8]] {
        [Array(compressed(pagesFrame())[4...])]
    }

    @Test("a compressed pages frame reads back as the pages message, and is smaller")
    func roundTrip() throws {
        let frame = Self.pagesFrame()
        let packed = Self.compressed(frame)
        #expect(packed.count < frame.count / 4)
        #expect(packed[4] == 19)
        let n = try #require(try MigrationWire.frameLength(packed))
        #expect(n == packed.count - 4)
        #expect(try MigrationWire.decode(Array(packed[4...])) == MigrationWire.decode(Array(frame[4...])))
    }

    @Test("a batch that does not shrink is not compressed, and nothing is appended")
    func incompressible() {
        var rng = SplitMix(seed: 7)
        let page = (0..<4096).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        var frame: [UInt8] = []
        MigrationWire.encode(.pages(slot: 0, [PageRecord(page: 1, data: page)]), into: &frame)
        var out: [UInt8] = [42]
        #expect(!MigrationWire.compressPagesFrame(frame, level: 1, into: &out))
        #expect(out == [42])
    }

    @Test("truncated, mislabelled and oversized compressed pages are refused with one reason")
    func refusals() throws {
        let inner = Array(Self.pagesFrame()[5...])
        let stream = Self.deflate(inner)
        let n = UInt32(inner.count)
        #expect(try MigrationWire.decode(Self.body(declared: n, stream: stream)) == MigrationWire.decode(Array(Self.pagesFrame()[4...])))
        #expect(throws: MigrationWireError.malformed("compressed pages are truncated (the zlib stream does not end)")) {
            try MigrationWire.decode(Self.body(declared: n, stream: Array(stream.dropLast(9))))
        }
        #expect(throws: MigrationWireError.malformed("compressed pages inflate to fewer than the declared \(n + 1) bytes")) {
            try MigrationWire.decode(Self.body(declared: n + 1, stream: stream))
        }
        #expect(throws: MigrationWireError.malformed("compressed pages inflate beyond the declared \(n - 1) bytes")) {
            try MigrationWire.decode(Self.body(declared: n - 1, stream: stream))
        }
        #expect(throws: MigrationWireError.malformed("bytes after the zlib stream of compressed pages")) {
            try MigrationWire.decode(Self.body(declared: n, stream: stream + [0]))
        }
        #expect(throws: MigrationWireError.malformed("compression method 2 (only 1, zlib, is known)")) {
            try MigrationWire.decode(Self.body(declared: n, method: 2, stream: stream))
        }
        #expect(throws: MigrationWireError.malformed("compressed pages are not a valid zlib stream")) {
            try MigrationWire.decode(Self.body(declared: n, stream: [0x78, 0x01] + [UInt8](repeating: 0xFF, count: 40)))
        }
        #expect(throws: MigrationWireError.malformed("compressed pages declared to inflate to 4194305 bytes (8 to 4194304)")) {
            try MigrationWire.decode(Self.body(declared: 4 << 20 + 1, stream: stream))
        }
        // Inflates to valid bytes that are not a pages body: its own reason, from the pages decoder.
        #expect(throws: MigrationWireError.malformed("page flag 7")) {
            try MigrationWire.decode(Self.body(declared: 17, stream: Self.deflate([0, 0, 0, 0, 1, 0, 0, 0] + [UInt8](repeating: 0, count: 8) + [7])))
        }
    }

    @Test("a zip bomb stops at the declared size: 64 MiB of zeros declared as 1 MiB")
    func zipBomb() {
        let bomb = Self.deflate([UInt8](repeating: 0, count: 64 << 20))
        #expect(bomb.count < 100_000, "the bomb is small on the wire")
        #expect(throws: MigrationWireError.malformed("compressed pages inflate beyond the declared 1048576 bytes")) {
            try MigrationWire.decode(Self.body(declared: 1 << 20, stream: bomb))
        }
        #expect(throws: MigrationWireError.malformed("compressed pages inflate beyond the declared 4194304 bytes")) {
            try MigrationWire.decode(Self.body(declared: 4 << 20, stream: bomb))
        }
    }

    @Test("every truncation of a compressed frame is an error, never a trap")
    func truncations() {
        for seed in Self.seeds {
            for cut in 0..<seed.count {
                #expect(throws: MigrationWireError.self) { try MigrationWire.decode(Array(seed[..<cut])) }
            }
        }
    }
}
