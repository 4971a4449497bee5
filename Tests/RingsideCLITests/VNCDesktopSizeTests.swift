import Foundation
import TestSupport
import XCTest

/// `ringside run --vnc` with a guest that changes mode: DesktopSize to the clients that ask for it.
final class VNCDesktopSizeTests: XCTestCase, VNCClientFixtures {
    /// The `modes` guest switches between 320x200 and 400x240 every 60 frames, to 400x240 for
    /// its final frame 300. A client that announced DesktopSize hears the size change and then
    /// gets the new geometry's pixels; a client without it keeps the size it connected at and
    /// never gets a rectangle past its edge, and stays connected. Both end with the dump of the
    /// final frame (the other one its top-left). The schedule repeats so that the clients see
    /// a change whenever they connect: nothing depends on how fast the host is.
    func testModeChangeReachesDesktopSizeClientsAndOthersKeepTheirGeometry() throws {
        try requireKVM()
        try DecodedPNG.requireDecoder()
        let dir = try MigrationCheck.tempDir(self, "vnc-desktopsize")
        let (p, port) = try startServer(["--guest", "modes", "--args", "modes=320x200@0,400x240@60 repeat=120", "--width", "320", "--height", "200",
                                         "--frames", "300", "--png", dir, "--png-every", "300", "--seconds", "300"])
        let aware = try RawRFBClient(port: port), plain = try RawRFBClient(port: port)
        let first = try aware.handshake(), plainSize = try plain.handshake()
        let sizes = [[320, 200], [400, 240]]
        XCTAssertTrue(sizes.contains([first.0, first.1]) && sizes.contains([plainSize.0, plainSize.1]), "\(first), \(plainSize)")
        aware.setEncodings([0, -223])
        plain.setEncodings([0])
        aware.requestUpdate(incremental: false, width: first.0, height: first.1)
        plain.requestUpdate(incremental: false, width: plainSize.0, height: plainSize.1)
        // Follow incremental updates until a DesktopSize rectangle arrives.
        var announced: RawRFBClient.Rect?
        for _ in 0..<2000 where announced == nil {
            let rects = try aware.readUpdate()
            announced = rects.first { $0.encoding == -223 }
            if announced == nil {
                XCTAssertTrue(rects.allSatisfy { $0.x + $0.w <= first.0 && $0.y + $0.h <= first.1 }, "a rectangle past \(first) before the resize")
                aware.requestUpdate(incremental: true, width: first.0, height: first.1)
            }
        }
        let other = first.0 == 320 ? [400, 240] : [320, 200]
        XCTAssertEqual(announced.map { [$0.w, $0.h] }, other, "no DesktopSize of the other mode")
        XCTAssertTrue(p.waitForOutput("serving the final frame", timeout: 120), p.transcript)
        var plainMax = (0, 0), plainUpdates = 0
        // The plain client's updates so far (the first one answers its first request; then
        // until it has been quiet for a second); each is checked against its geometry.
        var wait = 60.0
        while let rects = try? plain.readUpdate(timeout: wait) {
            wait = 1
            plainUpdates += 1
            for r in rects {
                XCTAssertEqual(r.encoding, 0, "a DesktopSize to a client that did not announce it")
                plainMax = (max(plainMax.0, r.x + r.w), max(plainMax.1, r.y + r.h))
            }
            plain.requestUpdate(incremental: true, width: plainSize.0, height: plainSize.1)
        }
        // The final frame in its geometry, whole, to each client.
        let dump = try DecodedPNG(path: dir + "/frame-000300.png")
        XCTAssertEqual([dump.width, dump.height], [400, 240])
        func wrong(_ got: (w: Int, h: Int, pixels: [UInt32])) -> Int {
            var n = 0
            for y in 0..<got.h { for x in 0..<got.w where got.pixels[y * got.w + x] != dump.pixel(x: x, y: y) & 0xFF_FFFF { n += 1 } }
            return n
        }
        let awarePicture = try Self.wholePicture(aware, size: (announced?.w ?? first.0, announced?.h ?? first.1))
        XCTAssertEqual([awarePicture.w, awarePicture.h], [400, 240], "the DesktopSize client is told the final mode")
        XCTAssertEqual(wrong(awarePicture), 0, "the DesktopSize client's picture differs from the dump")
        let plainPicture = try Self.wholePicture(plain, size: plainSize)
        XCTAssertEqual([plainPicture.w, plainPicture.h], [plainSize.0, plainSize.1], "the plain client keeps its size")
        XCTAssertEqual(wrong(plainPicture), 0, "the plain client's \(plainSize) differs from the dump's top-left")
        XCTAssertGreaterThan(plainUpdates, 0)
        XCTAssertTrue(plainMax.0 <= plainSize.0 && plainMax.1 <= plainSize.1, "a rectangle past the plain client's \(plainSize): \(plainMax)")
        p.signal(SIGTERM)
        XCTAssertEqual(p.exitStatus(), 0, p.transcript)
        XCTAssertFalse(p.out.contains("dropped"), p.transcript)
    }
}
