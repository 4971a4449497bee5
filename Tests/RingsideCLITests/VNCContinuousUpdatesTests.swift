import Foundation
import TestSupport
import XCTest

/// Continuous updates against a real guest: a client of the tests' own over a real socket.
final class VNCContinuousUpdatesTests: XCTestCase {
    /// The `desktop` guest at 60 Hz for 600 frames: a client that enables continuous updates
    /// gets 30 updates without sending a single FramebufferUpdateRequest, a fence comes back
    /// amid them, its picture (built from those updates alone) ends equal to the dump of the
    /// final frame, and disabling them is answered with EndOfContinuousUpdates.
    func testUpdatesFollowTheDesktopWithNoRequestAndEndOnTheDumpedFrame() throws {
        try requireKVMDevice()
        try DecodedPNG.requireDecoder()
        let dir = try MigrationCheck.tempDir(self, "vnc-continuous")
        let (p, port) = try startVNCRingside(["--guest", "desktop", "--width", "320", "--height", "200",
                                              "--frames", "600", "--png", dir, "--png-every", "600", "--seconds", "300"])
        let c = try RawRFBClient(port: port)
        let (w, h) = try c.handshake()
        XCTAssertEqual([w, h], [320, 200])
        c.setEncodings([0, -313, -312])
        XCTAssertEqual(try c.read(10), [248, 0, 0, 0, 0x80, 0, 0, 0, 1, 0], "the server's probe fence")
        XCTAssertEqual(try c.read(1), [150], "EndOfContinuousUpdates: the server understands them")
        c.send([248, 0, 0, 0, 0, 0, 0, 0, 1, 0]) // the reply to the probe
        var screen = Screen(width: w, height: h)
        c.requestUpdate(incremental: false, width: w, height: h)
        guard case .update(let first) = try c.readMessage() else { return XCTFail("no first update") }
        screen.apply(first)
        // From here on, no request is sent.
        c.enableContinuousUpdates(true, x: 0, y: 0, width: w, height: h)
        for _ in 0..<30 {
            guard case .update(let rects) = try c.readMessage() else { return XCTFail("a message other than an update") }
            XCTAssertFalse(rects.isEmpty, "an update with nothing in it")
            screen.apply(rects)
        }
        try fenceComesBack(c, &screen)
        XCTAssertTrue(p.waitForOutput("serving the final frame", timeout: 120), p.transcript)
        let dump = try DecodedPNG(path: dir + "/frame-000600.png")
        // The final frame's update comes by itself; read until the picture is the dump's.
        let deadline = Date(timeIntervalSinceNow: 60)
        while screen.wrong(against: dump) != 0 {
            let left = deadline.timeIntervalSinceNow
            guard left > 0, case .update(let rects) = try c.readMessage(timeout: left) else {
                return XCTFail("the picture from continuous updates differs from the dump in \(screen.wrong(against: dump)) pixels")
            }
            screen.apply(rects)
        }
        c.enableContinuousUpdates(false, x: 0, y: 0, width: 0, height: 0)
        // Disabling is answered (after an update that may have been on its way).
        var m = try c.readMessage()
        while case .update(let rects) = m {
            screen.apply(rects)
            m = try c.readMessage()
        }
        XCTAssertEqual(m, .endOfContinuousUpdates)
        XCTAssertEqual(screen.wrong(against: dump), 0)
        p.signal(SIGTERM)
        XCTAssertEqual(p.exitStatus(), 0, p.transcript)
        XCTAssertTrue(p.out.contains(" of them continuous"), p.transcript)
        XCTAssertFalse(p.out.contains("dropped"), p.transcript)
    }

    /// A BlockBefore fence sent amid the updates comes back with Request cleared (updates
    /// before it are applied to `screen`).
    func fenceComesBack(_ c: RawRFBClient, _ screen: inout Screen) throws {
        c.send([248, 0, 0, 0, 0x80, 0, 0, 1, 2] + Array("cu".utf8))
        while true {
            switch try c.readMessage() {
            case .update(let rects): screen.apply(rects)
            case .fence(let flags, let payload):
                XCTAssertEqual(flags, 1, "the fence comes back with Request cleared")
                XCTAssertEqual(payload, Array("cu".utf8))
                return
            case .endOfContinuousUpdates: return XCTFail("EndOfContinuousUpdates while they were on")
            }
        }
    }

    /// A client's picture, 0x00RRGGBB per pixel.
    struct Screen {
        let width: Int, height: Int
        var pixels: [UInt32]
        init(width: Int, height: Int) {
            self.width = width
            self.height = height
            pixels = [UInt32](repeating: 0xFF00_0000, count: width * height)
        }
        mutating func apply(_ rects: [RawRFBClient.Rect]) {
            for r in rects where r.encoding == 0 {
                for y in 0..<r.h { for x in 0..<r.w where r.x + x < width && r.y + y < height {
                    pixels[(r.y + y) * width + r.x + x] = r.pixels[y * r.w + x]
                } }
            }
        }
        func wrong(against dump: DecodedPNG) -> Int {
            var n = 0
            for y in 0..<height { for x in 0..<width where pixels[y * width + x] != dump.pixel(x: x, y: y) & 0xFF_FFFF { n += 1 } }
            return n
        }
    }
}

extension RawRFBClient {
    enum Message: Equatable {
        case update([Rect])
        case fence(flags: UInt32, payload: [UInt8])
        case endOfContinuousUpdates
    }

    func enableContinuousUpdates(_ enable: Bool, x: Int, y: Int, width: Int, height: Int) {
        send([150, enable ? 1 : 0, UInt8(x >> 8), UInt8(x & 0xFF), UInt8(y >> 8), UInt8(y & 0xFF),
              UInt8(width >> 8), UInt8(width & 0xFF), UInt8(height >> 8), UInt8(height & 0xFF)])
    }

    /// The next server message: a FramebufferUpdate (Raw at 32 bpp and pseudo-rectangles), a
    /// ServerFence or an EndOfContinuousUpdates; throws on anything else or when `timeout` passes.
    func readMessage(timeout: Double = 60) throws -> Message {
        let type = try read(1, timeout: timeout)[0]
        switch type {
        case 0:
            let head = try read(3, timeout: timeout)
            return .update(try readRects(Int(head[1]) << 8 | Int(head[2]), timeout: timeout))
        case 248:
            let h = try read(8, timeout: timeout)
            let flags = UInt32(h[3]) << 24 | UInt32(h[4]) << 16 | UInt32(h[5]) << 8 | UInt32(h[6])
            return .fence(flags: flags, payload: try read(Int(h[7]), timeout: timeout))
        case 150: return .endOfContinuousUpdates
        default: throw Closed()
        }
    }
}

extension RawRFBClient.Rect: Equatable {
    static func == (a: Self, b: Self) -> Bool {
        a.x == b.x && a.y == b.y && a.w == b.w && a.h == b.h && a.encoding == b.encoding && a.pixels == b.pixels
    }
}
