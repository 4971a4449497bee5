import Foundation
import TestSupport
import XCTest

/// ExtendedDesktopSize against a real guest: a client's SetDesktopSize makes `desktop` (which
/// follows display sizes) set that mode; the asker is told with reason 1 and its own layout,
/// another -308 client with reason 2, a DesktopSize-only client with -223; refusals carry
/// RFB's status codes. Protocol-level clients of the tests' own, and TigerVNC's viewer.
final class VNCDesktopResizeTests: XCTestCase {
    override class func tearDown() { XvfbScreen.stop() }

    /// A Raw client that keeps a picture of the screen and every size rectangle it was sent.
    final class Viewer {
        let c: RawRFBClient
        var width: Int, height: Int
        var pixels: [UInt32]
        /// ExtendedDesktopSize (-308) and DesktopSize (-223) rectangles, in order.
        var sizes: [RawRFBClient.Rect] = []

        init(port: Int, encodings: [Int32]) throws {
            c = try RawRFBClient(port: port)
            (width, height) = try c.handshake()
            pixels = [UInt32](repeating: 0, count: width * height)
            c.setEncodings(encodings)
            c.requestUpdate(incremental: false, width: width, height: height)
        }

        /// Reads one update: a size rectangle that took effect (success, or DesktopSize) gives a
        /// new, black picture; Raw pixels are painted in. A data update is followed by the next
        /// (incremental) request; an update of size rectangles alone answers none.
        func step() throws {
            let rects = try c.readUpdate(timeout: 60)
            for r in rects {
                if r.encoding == -223 || (r.encoding == -308 && r.y == 0) {
                    sizes.append(r)
                    if (r.w, r.h) != (width, height) {
                        (width, height) = (r.w, r.h)
                        pixels = [UInt32](repeating: 0, count: width * height)
                    }
                } else if r.encoding == -308 {
                    sizes.append(r)
                } else if r.encoding == 0 {
                    for y in 0..<r.h where r.y + y < height {
                        for x in 0..<r.w where r.x + x < width { pixels[(r.y + y) * width + r.x + x] = r.pixels[y * r.w + x] }
                    }
                }
            }
            if rects.contains(where: { $0.encoding == 0 }) { c.requestUpdate(incremental: true, width: width, height: height) }
        }

        /// Reads updates until `done`, at most 2,000 of them (each read within 60 s).
        func wait(_ what: String, _ done: () -> Bool) throws {
            for _ in 0..<2000 where !done() { try step() }
            XCTAssertTrue(done(), "the client never saw \(what); size rectangles: \(sizes.map { ($0.x, $0.y, $0.w, $0.h, $0.encoding) })")
        }

        /// The newest size rectangle of `encoding` with that reason (x).
        func last(_ encoding: Int32, reason: Int? = nil) -> RawRFBClient.Rect? {
            sizes.last { $0.encoding == encoding && (reason == nil || $0.x == reason) }
        }

        func setDesktopSize(_ w: Int, _ h: Int, screens: [(id: UInt32, x: Int, y: Int, w: Int, h: Int)]) {
            func be16(_ v: Int) -> [UInt8] { [UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
            func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
            var m: [UInt8] = [251, 0] + be16(w) + be16(h) + [UInt8(screens.count), 0]
            for s in screens { m += be32(s.id) + be16(s.x) + be16(s.y) + be16(s.w) + be16(s.h) + be32(0) }
            c.send(m)
        }
    }

    /// The asker's refusal: reason 1 with `status`, the size unchanged.
    func expectRefusal(_ v: Viewer, status: Int, _ p: RingsideProcess, line: String) throws {
        let before = v.sizes.count
        try v.wait("a refusal with status \(status)") { v.sizes.count > before && v.sizes.last!.x == 1 }
        let r = v.sizes.last!
        XCTAssertEqual([r.encoding, Int32(r.y), Int32(r.w), Int32(r.h)], [-308, Int32(status), Int32(v.width), Int32(v.height)])
        XCTAssertTrue(p.waitForOutput(line, timeout: 60), p.transcript)
    }

    /// Invalid layouts (status 3), a size beyond the largest mode (status 2), then 400x300: the
    /// asker gets reason 1 with its layout and then the new picture (the taskbar's top edge at
    /// the new bottom), the other -308 client reason 2, the -223 client a DesktopSize.
    func testSetDesktopSizeResizesAFollowingGuestAndTellsEveryClient() throws {
        try requireKVMDevice()
        let (p, port) = try startVNCRingside(["--guest", "desktop", "--width", "320", "--height", "200", "--seconds", "300"])
        let asker = try Viewer(port: port, encodings: [0, -308, -223])
        let other = try Viewer(port: port, encodings: [0, -308])
        let plain = try Viewer(port: port, encodings: [0, -223])
        try asker.wait("the layout in answer to the first request") { asker.last(-308, reason: 0) != nil }
        XCTAssertEqual(asker.last(-308, reason: 0).map { [$0.y, $0.w, $0.h] }, [0, 320, 200])
        XCTAssertEqual(asker.last(-308, reason: 0)?.layout, [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 64, 0, 200, 0, 0, 0, 0])

        asker.setDesktopSize(400, 300, screens: [(1, 0, 0, 500, 300)])
        try expectRefusal(asker, status: 3, p, line: "lies outside the 400x300 framebuffer")
        asker.setDesktopSize(400, 300, screens: [])
        try expectRefusal(asker, status: 3, p, line: "no screen in the layout")
        asker.setDesktopSize(30000, 20000, screens: [(1, 0, 0, 30000, 20000)])
        try expectRefusal(asker, status: 2, p, line: "larger than the largest mode")

        asker.setDesktopSize(400, 300, screens: [(0x2A, 0, 0, 400, 300)])
        try asker.wait("its resize answered") { asker.last(-308, reason: 1).map { $0.y == 0 } ?? false }
        let answer = asker.last(-308, reason: 1)!
        XCTAssertEqual([answer.w, answer.h], [400, 300])
        XCTAssertEqual(answer.layout, [1, 0, 0, 0, 0, 0, 0, 0x2A, 0, 0, 0, 0, 1, 144, 1, 44, 0, 0, 0, 0], "its own layout echoed")
        // The desktop's taskbar starts 28 rows above the new bottom edge with a one-row line.
        let line: UInt32 = 0x555753, ty = 300 - 28
        try asker.wait("the taskbar at the new bottom edge") {
            asker.width == 400 && (0..<400).filter { asker.pixels[ty * 400 + $0] == line }.count > 300
        }
        try other.wait("another client's resize (reason 2)") { other.last(-308, reason: 2) != nil }
        XCTAssertEqual(other.last(-308, reason: 2).map { [$0.y, $0.w, $0.h] }, [0, 400, 300])
        XCTAssertNil(other.sizes.first { $0.x == 1 }, "the other client is not told of the asker's refusals")
        try plain.wait("a DesktopSize") { plain.last(-223) != nil }
        XCTAssertEqual(plain.last(-223).map { [$0.w, $0.h] }, [400, 300])
        XCTAssertTrue(p.out.contains("asked for a 400x300 desktop"), p.transcript)
        p.signal(SIGTERM)
        XCTAssertEqual(p.exitStatus(), 0, p.transcript)
    }

    /// A guest that does not follow display sizes (`pattern`), and `desktop`
    /// under --fixed-mode: the request is refused as prohibited (status 1), nothing changes.
    func testAGuestThatDoesNotFollowRefusesAsProhibited() throws {
        try requireKVMDevice()
        for (args, why) in [(["--guest", "pattern"], "does not follow display-size requests"),
                            (["--guest", "desktop", "--fixed-mode"], "--fixed-mode")] {
            let (p, port) = try startVNCRingside(args + ["--width", "320", "--height", "200", "--seconds", "300"])
            let v = try Viewer(port: port, encodings: [0, -308])
            try v.wait("the layout") { v.last(-308, reason: 0) != nil }
            v.setDesktopSize(400, 300, screens: [(0, 0, 0, 400, 300)])
            try expectRefusal(v, status: 1, p, line: why)
            XCTAssertEqual([v.width, v.height], [320, 200])
            p.signal(SIGTERM)
            XCTAssertEqual(p.exitStatus(), 0, p.transcript)
        }
    }

    /// TigerVNC's viewer with -RemoteResize=1: its window resized (xdotool, as a window manager
    /// would) makes `desktop` set that mode; the viewer is told (its window stays that size).
    func testTigerVNCViewerResizesTheGuest() throws {
        try requireKVMDevice()
        let viewer = try requireTool("xtigervncviewer", install: "apt-get install tigervnc-viewer")
        let xdotool = try requireTool("xdotool", install: "apt-get install xdotool")
        let screen = try XvfbScreen.acquire()
        let (p, port) = try startVNCRingside(["--guest", "desktop", "--width", "320", "--height", "200", "--stats", "--seconds", "300"])
        let v = try screen.launch(viewer, ["-RemoteResize=1", "127.0.0.1::\(port)"])
        defer { end(v) }
        XCTAssertTrue(p.waitForOutput("connected (RFB 3.8", timeout: 120), p.transcript)
        let window = screen.waitForWindow(named: "ringside", xdotool: xdotool)
        // Resize until the viewer asks (it ignores sizes before its first update arrives).
        waitFor("the viewer's SetDesktopSize", every: 1) {
            _ = try? screen.xdotool(xdotool, ["windowsize", window, "480", "360"])
            return p.out.contains("asked for a 480x360 desktop")
        }
        XCTAssertTrue(p.waitForOutput("now 480x360", timeout: 120), "the guest set the mode: \(p.transcript)")
        end(v)
        XCTAssertFalse(p.out.contains("SetDesktopSize 480x360 refused"), p.transcript)
        p.signal(SIGTERM)
        XCTAssertEqual(p.exitStatus(), 0, p.transcript)
    }
}
