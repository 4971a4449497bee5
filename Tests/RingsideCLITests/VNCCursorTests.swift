import Foundation
import TestSupport
import XCTest

/// The cursor plane over RFB against a real guest (`paint`, whose crosshair is 11x11 with its
/// hot spot in the middle): a client that announces the Cursor pseudo-encoding (-239) gets the
/// shape with its hot spot and pixels, and never sees it in the framebuffer's pixels; a client
/// without it gets the cursor composited into the pixels it is sent.
final class VNCCursorTests: XCTestCase {
    /// A rectangle of an update: Raw pixels (32 bpp little-endian) or a Cursor's pixels and mask.
    struct Rect {
        var x: Int, y: Int, w: Int, h: Int, encoding: Int32
        var pixels: [UInt32] = []
        var mask: [UInt8] = []
    }

    func readUpdate(_ c: RawRFBClient) throws -> [Rect] {
        let head = try c.read(4)
        guard head[0] == 0 else { throw RawRFBClient.Closed() }
        var rects: [Rect] = []
        for _ in 0..<(Int(head[2]) << 8 | Int(head[3])) {
            let r = try c.read(12)
            var rect = Rect(x: Int(r[0]) << 8 | Int(r[1]), y: Int(r[2]) << 8 | Int(r[3]), w: Int(r[4]) << 8 | Int(r[5]), h: Int(r[6]) << 8 | Int(r[7]),
                            encoding: Int32(bitPattern: UInt32(r[8]) << 24 | UInt32(r[9]) << 16 | UInt32(r[10]) << 8 | UInt32(r[11])))
            if rect.encoding == 0 || rect.encoding == -239 {
                let bytes = try c.read(rect.w * rect.h * 4)
                rect.pixels = stride(from: 0, to: bytes.count, by: 4).map { UInt32(bytes[$0]) | UInt32(bytes[$0 + 1]) << 8 | UInt32(bytes[$0 + 2]) << 16 }
            }
            if rect.encoding == -239 { rect.mask = try c.read((rect.w + 7) / 8 * rect.h) }
            rects.append(rect)
        }
        return rects
    }

    func pointer(_ c: RawRFBClient, _ x: Int, _ y: Int) {
        _ = c.send([5, 0, UInt8(x >> 8), UInt8(x & 0xFF), UInt8(y >> 8), UInt8(y & 0xFF)])
    }

    /// Requests incremental updates until `found` returns a value from one (at most 300 updates).
    func awaitUpdate<T>(_ c: RawRFBClient, _ what: String, _ found: ([Rect]) -> T?) throws -> T {
        for _ in 0..<300 {
            c.requestUpdate(incremental: true, width: 320, height: 200)
            if let v = found(try readUpdate(c)) { return v }
        }
        throw NeverGot(what: what)
    }

    func testACursorClientGetsTheShapeAndAPlainClientGetsItComposited() throws {
        try requireKVMDevice()
        let (p, port) = try startVNCRingside(["--guest", "paint", "--width", "320", "--height", "200", "--seconds", "300"])
        defer { p.signal(SIGTERM); _ = p.exitStatus() }
        let rich = try RawRFBClient(port: port), plain = try RawRFBClient(port: port)
        _ = try rich.handshake()
        _ = try plain.handshake()
        rich.setEncodings([0, -239])
        plain.setEncodings([0])
        for c in [rich, plain] {
            c.requestUpdate(incremental: false, width: 320, height: 200)
            _ = try readUpdate(c)
        }
        pointer(rich, 100, 80)
        let shape = try awaitUpdate(rich, "a Cursor rectangle") { $0.first { $0.encoding == -239 } }
        XCTAssertEqual([shape.x, shape.y, shape.w, shape.h], [5, 5, 11, 11], "hot spot 5,5 and size 11x11")
        XCTAssertEqual(shape.pixels[5 * 11 + 5], 0x000000, "a black centre")
        XCTAssertEqual(shape.pixels[4], 0xFFFFFF, "a white outline beside the vertical bar")
        XCTAssertEqual(shape.mask[5 * 2] & 0x04, 0x04, "the centre is opaque (row 5, bit for x = 5)")
        XCTAssertEqual(shape.mask[0], 0x0E, "row 0: only x = 4, 5, 6 are opaque")
        // The plain client's picture gets the crosshair at the pointer, composited.
        let centre = try awaitUpdate(plain, "the composited crosshair") { rects in
            rects.first { $0.encoding == 0 && $0.x <= 100 && $0.maxX > 100 && $0.y <= 80 && $0.maxY > 80 }.map { $0.pixel(100, 80) }
        }
        XCTAssertEqual(centre, 0x000000, "the crosshair's centre in the plain client's pixels")
        // The server's surface stays guest pixels: a full update for the cursor client is white there.
        rich.requestUpdate(incremental: false, width: 320, height: 200)
        var under: UInt32?
        for _ in 0..<20 where under == nil { under = try readUpdate(rich).first { $0.encoding == 0 && $0.x <= 100 && $0.maxX > 100 && $0.y <= 80 && $0.maxY > 80 }?.pixel(100, 80) }
        XCTAssertEqual(under, 0xFFFFFF, "the canvas under the cursor, as the guest left it")
    }

    /// VMware cursor position (0x574D5666): a client that lists it is told where the cursor went
    /// when another client moved it, as an empty rectangle at the hot spot.
    func testAPositionClientIsToldWhereAnotherClientMovedTheCursor() throws {
        try requireKVMDevice()
        let (p, port) = try startVNCRingside(["--guest", "paint", "--width", "320", "--height", "200", "--seconds", "300"])
        defer { p.signal(SIGTERM); _ = p.exitStatus() }
        let watcher = try RawRFBClient(port: port), mover = try RawRFBClient(port: port)
        _ = try watcher.handshake()
        _ = try mover.handshake()
        watcher.setEncodings([0, -239, 0x574D_5666])
        watcher.requestUpdate(incremental: false, width: 320, height: 200)
        _ = try readUpdate(watcher)
        pointer(mover, 150, 60)
        let at = try awaitUpdate(watcher, "a cursor position rectangle") { $0.first { $0.encoding == 0x574D_5666 } }
        XCTAssertEqual([at.x, at.y, at.w, at.h], [150, 60, 0, 0], "the hot spot's new place, no pixels")
    }
}

struct NeverGot: Error, CustomStringConvertible {
    let what: String
    var description: String { "300 updates came without \(what)" }
}

extension VNCCursorTests.Rect {
    var maxX: Int { x + w }
    var maxY: Int { y + h }
    func pixel(_ px: Int, _ py: Int) -> UInt32 { pixels[(py - y) * w + (px - x)] }
}
