import Foundation
import MigrationWire
import TestSupport
import XCTest

/// Compressed page batches between real `ringside` processes (`--migrate-compress`): the same
/// picture as a guest never migrated; off, or to a destination that does not read them, the
/// stream as before; a compressed batch that lies is refused in one line and the source keeps
/// its guest. A `FrameTapProxy` between the two sees every frame the source sends.
extension MigrationFaultTests {
    static let compressedPagesType: UInt8 = 19

    /// `run` -> proxy -> `receive`, desktop at 32 MiB migrating at frame 30 with `compress`;
    /// checks the destination's pictures against an unmigrated run. Returns the source and the proxy.
    private func migrateThroughTap(_ name: String, guest: String = "desktop", compress: String, oldDestination: Bool = false,
                                   dir: String) throws -> (RingsideProcess, FrameTapProxy) {
        let dstDir = dir + "/\(name)-dst"
        let dst = try RingsideProcess("receive", ["receive", "--listen", "127.0.0.1:0", "--headless", "--png", dstDir, "--png-every", "1"])
        let port = try XCTUnwrap(dst.listeningPort(), dst.transcript)
        let tap = try FrameTapProxy(upstream: port, oldDestination: oldDestination)
        let src = try RingsideProcess("run", ["run", "--guest", guest, "--headless", "--width", "\(Self.width)", "--height", "\(Self.height)",
                                              "--memory", "32M", "--migrate-to", "127.0.0.1:\(tap.port)", "--migrate-at-frame", "30",
                                              "--verify-migration", "--migrate-compress", compress])
        XCTAssertEqual(src.exitStatus(), 0, src.transcript)
        let files = dst.stopAfterDrawing(filesIn: dstDir)
        XCTAssertEqual(dst.exitStatus(), 0, dst.transcript)
        XCTAssertTrue(src.out.contains("migrated to 127.0.0.1:\(tap.port): "), src.transcript)
        XCTAssertTrue(dst.out.contains(" pages verified"), dst.transcript)
        XCTAssertEqual(src.err, "", src.transcript)
        XCTAssertFalse(files.isEmpty, "the destination drew no frame\n\(dst.transcript)")
        XCTAssertNil(MigrationCheck.compareWithUnmigrated(files, in: dstDir, guest: guest, width: Self.width, height: Self.height,
                                                          memory: "32M", refDir: dir + "/\(name)-ref"))
        XCTAssertTrue(tap.wait(), "the proxy's connection never ended")
        return (src, tap)
    }

    func testACompressedMigrationShowsTheUnmigratedPicture() throws {
        try MigrationCheck.requireKVMDevice()
        let dir = try MigrationCheck.tempDir(self, "compress-on")
        for guest in ["desktop", "plasma"] {
            let (src, tap) = try migrateThroughTap(guest, guest: guest, compress: "on", dir: dir)
            let compressed = tap.types.filter { $0 == Self.compressedPagesType }.count
            XCTAssertGreaterThan(compressed, 0, "\(guest): no compressed batch went over")
            XCTAssertEqual(Array(tap.sourceHello.suffix(4)), [3, 0, 0, 0], "the source asks for compressed pages (and binds a nonce)")
            XCTAssertTrue(src.out.contains("migration compression: zlib on, "), src.transcript)
            XCTAssertTrue(src.out.contains("(ratio 0."), "the summary gives the ratio: \(src.out)")
        }
    }

    /// Off asks for nothing in the hello and sends only protocol 4's frames; on, to a destination
    /// whose hello has no capability (a protocol 4 build from before compression), sends none either.
    func testCompressionOffAndAnOlderDestinationGetTheUncompressedStream() throws {
        try MigrationCheck.requireKVMDevice()
        let dir = try MigrationCheck.tempDir(self, "compress-off")
        let (offSource, off) = try migrateThroughTap("off", compress: "off", dir: dir)
        XCTAssertEqual(Array(off.sourceHello.suffix(4)), [2, 0, 0, 0], "off: no compression bit (only bit 1, the nonce binding)")
        XCTAssertFalse(off.types.contains(Self.compressedPagesType), "off: no compressed batch")
        XCTAssertTrue(off.types.contains(3), "off: pages as before")
        XCTAssertFalse(offSource.out.contains("migration compression"), offSource.out)
        let (oldSource, old) = try migrateThroughTap("old", compress: "on", oldDestination: true, dir: dir)
        XCTAssertFalse(old.types.contains(Self.compressedPagesType), "an older destination gets no compressed batch")
        XCTAssertTrue(oldSource.out.contains("migration compression: off (the destination does not read compressed pages)"), oldSource.out)
    }

    /// The first compressed batch rewritten three ways: its zlib stream cut short, its declared
    /// length too long, and a zip bomb (1000 pages of zeros, 4 MB inflated from a few KiB, declared
    /// as the batch's size). The destination refuses it in one line; the source runs on.
    func testAMalformedCompressedBatchIsRefusedAndTheSourceKeepsItsGuest() throws {
        try MigrationCheck.requireKVMDevice()
        let dir = try MigrationCheck.tempDir(self, "compress-bad")
        let cases: [(String, @Sendable ([UInt8]) -> [UInt8], String)] = [
            ("truncated", { Self.reframe(Array($0[4..<($0.count - 20)])) }, "compressed pages are truncated"),
            ("length", { f in Self.reframe([19] + Self.u32(Self.declared(f) + 4096) + Array(f[9...])) },
             "compressed pages inflate to fewer than the declared"),
            ("bomb", { f in Self.reframe([19] + Self.u32(Self.declared(f)) + Array(Self.bomb()[9...])) },
             "compressed pages inflate beyond the declared"),
        ]
        // All three run at once; the checks follow on this thread, one by one.
        let runs = try cases.map { name, tamper, naming in
            let dst = try receive(pngDir: dir + "/\(name)-dst")
            let port = try XCTUnwrap(dst.listeningPort(), dst.transcript)
            let tap = try FrameTapProxy(upstream: port, tamper: tamper)
            let src = try source(port: tap.port, pngDir: dir + "/\(name)-src", ["--migrate-compress", "on"])
            return (name, naming, dst, tap, src)
        }
        for (name, naming, dst, tap, src) in runs {
            XCTAssertEqual(dst.exitStatus(), 1, "\(name): \(dst.transcript)")
            if let p = MigrationCheck.oneLineProblem(dst.err, containing: ["migration failed, nothing was kept: malformed migration stream: " + naming]) {
                XCTFail("\(name): destination: \(p)")
            }
            let line = assertSourceKeptRunning(src, port: tap.port, pngDir: dir + "/\(name)-src", naming: naming)
            XCTAssertTrue(line.contains("the other side abandoned the migration"), "\(name): \(line)")
        }
    }

    private static func u32(_ v: Int) -> [UInt8] { withUnsafeBytes(of: UInt32(v).littleEndian, Array.init) }
    /// The length a compressed-pages frame declares its pages inflate to.
    private static func declared(_ frame: [UInt8]) -> Int { Int(frame[5]) | Int(frame[6]) << 8 | Int(frame[7]) << 16 | Int(frame[8]) << 24 }
    /// `body` (type byte first) as a frame.
    private static func reframe(_ body: [UInt8]) -> [UInt8] { u32(body.count) + body }
    /// A compressed-pages frame of 1000 zero-filled pages (sent as data, not as zero records).
    private static func bomb() -> [UInt8] {
        var frame: [UInt8] = []
        let zeros = [UInt8](repeating: 0, count: 4096)
        MigrationWire.encode(.pages(slot: 0, (0..<1000).map { PageRecord(page: UInt64($0), data: zeros) }), into: &frame)
        var out: [UInt8] = []
        _ = MigrationWire.compressPagesFrame(frame, level: 9, into: &out)
        return out
    }
}
