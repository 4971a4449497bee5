import Foundation
import TestSupport
import XCTest

/// `ringside run --vnc` against real VNC clients (vncdotool, gvnccapture) and against
/// malformed and non-reading clients over real sockets, with a real guest.
final class VNCClientTests: XCTestCase {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("scripts/vnc_capture.py").path

    func requireKVM() throws { try requireKVMDevice() }

    func requireVncdotool() throws { try requirePythonModule("vncdotool", install: "pip install vncdotool") }

    struct ServerDidNotStart: Error, CustomStringConvertible { let description: String }

    /// Starts ringside with `--vnc 127.0.0.1:0` and returns it with the port it printed.
    func startServer(_ args: [String]) throws -> (RingsideProcess, Int) {
        let p = try RingsideProcess("vnc", ["run", "--headless", "--vnc", "127.0.0.1:0"] + args)
        guard p.waitForOutput("VNC server on 127.0.0.1:", timeout: 120) else {
            throw ServerDidNotStart(description: "no VNC server line\n\(p.transcript)")
        }
        for line in p.out.split(separator: "\n") where line.hasPrefix("VNC server on 127.0.0.1:") {
            let rest = line.dropFirst("VNC server on 127.0.0.1:".count)
            if let port = Int(rest.prefix { $0.isNumber }) { return (p, port) }
        }
        throw ServerDidNotStart(description: "no port in \(p.out)")
    }

    func capture(port: Int, encoding: String, bpp: Int, password: String? = nil, to path: String) throws -> (status: Int32, out: String, err: String) {
        try runProgram(URL(fileURLWithPath: "/usr/bin/env"),
                       ["python3", Self.script, "127.0.0.1", "\(port)", path, encoding, "\(bpp)"] + (password.map { [$0] } ?? []), timeout: 60)
    }

    /// The 5-6-5 pixel a 16 bpp client shows for `p`: each channel scaled to its bits as the
    /// server does (rounded), then widened back as PIL does (v * 255 / max, truncated).
    static func as565(_ p: UInt32) -> UInt32 {
        func q(_ v: UInt32, _ bits: UInt32) -> UInt32 {
            let max = (UInt32(1) << bits) - 1
            return ((v * max + 127) / 255) * 255 / max
        }
        return q((p >> 16) & 0xFF, 5) << 16 | q((p >> 8) & 0xFF, 6) << 8 | q(p & 0xFF, 5)
    }

    func mismatches(_ a: DecodedPNG, _ b: DecodedPNG, expect: (UInt32) -> UInt32 = { $0 }) -> Int {
        guard a.width == b.width, a.height == b.height else { return -1 }
        var n = 0
        for y in 0..<a.height { for x in 0..<a.width where expect(a.pixel(x: x, y: y)) != b.pixel(x: x, y: y) { n += 1 } }
        return n
    }

    func testVNCOptionMistakesAreOneLineBeforeBoot() throws {
        let dir = try MigrationCheck.tempDir(self, "vnc-options")
        try "\n".write(toFile: dir + "/empty", atomically: true, encoding: .utf8)
        for (args, needle) in [(["--vnc", "0.0.0.0:5999"], "without a password: give --vnc-password-file FILE, or --vnc-insecure"),
                               (["--vnc", ":70000"], "display :N must be 0...59635"),
                               (["--vnc", "localhost"], "is not an address"),
                               (["--vnc", ":1", "--vnc-password-file", dir + "/empty"], "the first line is empty"),
                               (["--vnc", ":1", "--vnc-password-file", dir + "/missing"], "cannot read it")] {
            let r = try runRingside(["run", "--headless", "--frames", "1"] + args)
            XCTAssertEqual(r.status, 1, "\(args): \(r.err)")
            XCTAssertEqual(r.err.split(separator: "\n").count, 1, "one line for \(args): \(r.err)")
            XCTAssertTrue(r.err.contains(needle), "\(args): \(r.err)")
        }
    }

    func testRealClientsCaptureExactlyTheFrameRingsideDumped() throws {
        try requireKVM()
        try DecodedPNG.requireDecoder()
        try requireVncdotool()
        let dir = try MigrationCheck.tempDir(self, "vnc-capture")
        let (p, port) = try startServer(["--guest", "pattern", "--guest-hz", "0", "--frames", "25", "--width", "333", "--height", "211",
                                         "--png", dir, "--seconds", "300"])
        XCTAssertTrue(p.waitForOutput("serving the final frame", timeout: 60), p.transcript)
        let dump = try DecodedPNG(path: dir + "/frame-000025.png")
        // vncdotool decodes ZRLE only with 3-byte CPIXELs (32 bpp), so ZRLE at 16 bpp is left to the unit tests.
        for (encoding, bpp) in [("raw", 32), ("zrle", 32), ("raw", 16)] {
            let path = dir + "/vncdotool-\(encoding)-\(bpp).png"
            let r = try capture(port: port, encoding: encoding, bpp: bpp, to: path)
            XCTAssertEqual(r.status, 0, "vncdotool \(encoding) \(bpp) bpp: \(r.err)")
            let got = try DecodedPNG(path: path)
            XCTAssertEqual(mismatches(dump, got, expect: bpp == 16 ? Self.as565 : { $0 }), 0, "vncdotool \(encoding) at \(bpp) bpp differs from the dump")
        }
        let gvnccapture = try requireTool("gvnccapture", install: "apt-get install gvncviewer")
        let path = dir + "/gvnccapture.png"
        let r = try runProgram(URL(fileURLWithPath: gvnccapture), ["127.0.0.1:\(port - 5900)", path])
        XCTAssertEqual(r.status, 0, "gvnccapture: \(r.err)")
        XCTAssertEqual(mismatches(dump, try DecodedPNG(path: path)), 0, "gvnccapture (ZRLE) differs from the dump")
        p.signal(SIGTERM)
        XCTAssertEqual(p.exitStatus(), 0, p.transcript)
        XCTAssertFalse(p.out.contains("dropped"), p.transcript)
    }

    /// vncdotool types into the `terminal` guest over `--vnc`; its capture afterwards equals,
    /// pixel for pixel, the dump of a run that got the same keys from `--input-script`
    /// (the prompt row with the typed text, the rest of the screen untouched).
    func testVncdotoolTypesIntoTheTerminalAndTheScreenShowsIt() throws {
        try requireKVM()
        try DecodedPNG.requireDecoder()
        try requireVncdotool()
        let dir = try MigrationCheck.tempDir(self, "vnc-type")
        let geometry = ["--guest", "terminal", "--args", "lines=0", "--width", "320", "--height", "200"]
        try "5 key down KEY_H\n5 key up KEY_H\n7 key down KEY_I\n7 key up KEY_I\n8 key down KEY_SPACE\n8 key up KEY_SPACE\n9 key down KEY_V\n9 key up KEY_V\n"
            .write(toFile: dir + "/keys.txt", atomically: true, encoding: .utf8)
        let reference = try runRingside(["run", "--headless", "--frames", "30", "--png", dir, "--png-every", "30",
                                         "--input-script", dir + "/keys.txt"] + geometry)
        XCTAssertEqual(reference.status, 0, reference.err)
        let dump = try DecodedPNG(path: dir + "/frame-000030.png")

        let (p, port) = try startServer(geometry + ["--seconds", "300"])
        let script = URL(fileURLWithPath: Self.script).deletingLastPathComponent().appendingPathComponent("vnc_type.py").path
        let r = try runProgram(URL(fileURLWithPath: "/usr/bin/env"),
                               ["python3", script, "127.0.0.1", "\(port)", dir + "/before.png", dir + "/after.png", "hi v",
                                dir + "/frame-000030.png"])
        XCTAssertEqual(r.status, 0, "vncdotool: \(r.err)")
        let before = try DecodedPNG(path: dir + "/before.png"), after = try DecodedPNG(path: dir + "/after.png")
        XCTAssertEqual(mismatches(dump, after), 0, "the screen after vncdotool typed differs from the --input-script dump")
        // The keys changed only the prompt row (the bottom 16-pixel text row of 12 at 200 lines).
        var changedAbove = 0, changedPrompt = 0
        for y in 0..<before.height { for x in 0..<before.width where before.pixel(x: x, y: y) != after.pixel(x: x, y: y) {
            if y >= 11 * 16 && y < 12 * 16 { changedPrompt += 1 } else { changedAbove += 1 }
        } }
        XCTAssertGreaterThan(changedPrompt, 0, "typing did not change the prompt row")
        XCTAssertEqual(changedAbove, 0, "typing changed pixels outside the prompt row")
        p.signal(SIGTERM)
        XCTAssertEqual(p.exitStatus(), 0, p.transcript)
    }

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

    /// Asks `c` for a whole picture and reads updates until one covers its whole geometry (an
    /// incremental update still in flight may come first; a DesktopSize changes the size).
    static func wholePicture(_ c: RawRFBClient, size: (Int, Int)) throws -> (w: Int, h: Int, pixels: [UInt32]) {
        var (w, h) = size
        c.requestUpdate(incremental: false, width: w, height: h)
        for _ in 0..<100 {
            let rects = try c.readUpdate()
            var resized = false
            if let ds = rects.first(where: { $0.encoding == -223 }) { (w, h) = (ds.w, ds.h); resized = true }
            var screen = [UInt32](repeating: 0xFF00_0000, count: w * h)
            var covered = 0
            for r in rects where r.encoding == 0 {
                for y in 0..<r.h { for x in 0..<r.w where r.x + x < w && r.y + y < h {
                    screen[(r.y + y) * w + r.x + x] = r.pixels[y * r.w + x]
                    covered += 1
                } }
            }
            if covered >= w * h && !screen.contains(0xFF00_0000) { return (w, h, screen) }
            if resized { c.requestUpdate(incremental: false, width: w, height: h) }
        }
        throw RawRFBClient.Closed()
    }

    func testTigerVNCViewerShowsTheFrameExactlyOverTight() throws {
        try requireKVM()
        let viewer = try requireTool("xtigervncviewer", install: "apt-get install tigervnc-viewer")
        let screen = try XvfbScreen.acquire()
        let dir = try MigrationCheck.tempDir(self, "vnc-tiger")
        let (p, port) = try startServer(["--guest", "pattern", "--guest-hz", "0", "--frames", "25", "--width", "333", "--height", "211",
                                         "--png", dir, "--seconds", "300"])
        XCTAssertTrue(p.waitForOutput("serving the final frame", timeout: 120), p.transcript)
        let v = try screen.launch(viewer, ["127.0.0.1::\(port)"])
        defer { end(v) }
        XCTAssertTrue(p.waitForOutput("connected (RFB 3.8)", timeout: 120), p.transcript)
        // The viewer's window sits where the X server put it, decorations or not: find the
        // frame's top-left corner in the screenshot, then compare every pixel.
        let dump = try DecodedPNG(path: dir + "/frame-000025.png")
        let found = try screen.waitForPicture(width: 333, height: 211, within: (100, 100)) { dump.pixel(x: $0, y: $1) }
        XCTAssertEqual(found?.wrong, 0, "the viewer shows frame 25 exactly (nil: not found on screen)")
        end(v)
        XCTAssertTrue(p.waitForOutput("updates (Tight, 32 bpp)", timeout: 60), "TigerVNC asked for Tight\n\(p.transcript)")
        p.signal(SIGTERM)
        XCTAssertEqual(p.exitStatus(), 0, p.transcript)
    }

    func testNoVNCInChromiumOverTheWebSocketShowsTheFrameExactly() throws {
        try requireKVM()
        try DecodedPNG.requireDecoder()
        let chromium = try requireTool(anyOf: ["chromium-headless-shell", "chromium"], install: "apt-get install chromium-headless-shell")
        try requireFile("/usr/share/novnc/vnc.html", install: "apt-get install novnc")
        let dir = try MigrationCheck.tempDir(self, "vnc-novnc")
        let p = try RingsideProcess("vnc", ["run", "--headless", "--vnc-websocket", "127.0.0.1:0", "--guest", "pattern", "--guest-hz", "0",
                                            "--frames", "25", "--width", "333", "--height", "211", "--png", dir, "--seconds", "300"])
        XCTAssertTrue(p.waitForOutput("serving the final frame", timeout: 60), p.transcript)
        let line = p.out.split(separator: "\n").first { $0.hasPrefix("VNC over WebSocket on 127.0.0.1:") } ?? ""
        guard let port = Int(line.dropFirst("VNC over WebSocket on 127.0.0.1:".count).prefix { $0.isNumber }) else {
            return XCTFail("no WebSocket port\n\(p.transcript)")
        }
        let shotPath = dir + "/chromium.png"
        let dump = try DecodedPNG(path: dir + "/frame-000025.png")
        var best = -1
        var r: (status: Int32, out: String, err: String) = (0, "", "")
        // Headless Chromium's virtual time sometimes ends before noVNC has drawn: look again with more.
        for budget in [8000, 15000, 30000] where best != 0 {
            r = try runProgram(URL(fileURLWithPath: chromium),
                               ["--no-sandbox", "--disable-gpu", "--window-size=1300,900", "--virtual-time-budget=\(budget)", "--screenshot=\(shotPath)",
                                "http://127.0.0.1:\(port)/vnc.html?autoconnect=true&resize=off"], timeout: 120)
            XCTAssertEqual(r.status, 0, r.err)
            let shot = try DecodedPNG(path: shotPath)
            search: for oy in 0..<(shot.height - 211) {
                for ox in 0..<(shot.width - 333) where shot.pixel(x: ox, y: oy) == dump.pixel(x: 0, y: 0)
                    && shot.pixel(x: ox + 332, y: oy + 210) == dump.pixel(x: 332, y: 210) && shot.pixel(x: ox + 100, y: oy + 50) == dump.pixel(x: 100, y: 50) {
                    var wrong = 0
                    for y in 0..<211 { for x in 0..<333 where shot.pixel(x: ox + x, y: oy + y) != dump.pixel(x: x, y: y) { wrong += 1 } }
                    best = wrong
                    if wrong == 0 { break search }
                }
            }
        }
        if best != 0 { try? FileManager.default.copyItem(atPath: shotPath, toPath: NSTemporaryDirectory() + "ringside-novnc-failed.png") }
        XCTAssertEqual(best, 0, "noVNC shows frame 25 exactly, colours right (-1: not found in the screenshot)\n\(p.transcript)\n\(r.err.suffix(2000))")
        p.signal(SIGTERM)
        XCTAssertEqual(p.exitStatus(), 0, p.transcript)
        XCTAssertTrue(p.out.contains("updates (Tight, 32 bpp)"), p.transcript)
    }

    func testPasswordIsCheckedAndBadClientsAreDroppedWithOneLineEach() throws {
        try requireKVM()
        try requireVncdotool()
        let dir = try MigrationCheck.tempDir(self, "vnc-bad")
        try "sekrit\n".write(toFile: dir + "/pw", atomically: true, encoding: .utf8)
        let (p, port) = try startServer(["--guest", "desktop", "--width", "320", "--height", "200", "--vnc-password-file", dir + "/pw",
                                         "--seconds", "300", "--stats"])
        // The right password works; a wrong one, three times, is refused.
        XCTAssertEqual(try capture(port: port, encoding: "zrle", bpp: 32, password: "sekrit", to: dir + "/ok.png").status, 0)
        for _ in 0..<3 { XCTAssertNotEqual(try capture(port: port, encoding: "raw", bpp: 32, password: "wrong", to: dir + "/bad.png").status, 0) }
        XCTAssertEqual(p.out.components(separatedBy: "VNC authentication failed: wrong password").count - 1, 3, p.transcript)

        // A good client stays connected through everything below, getting updates.
        let good = try RawRFBClient(port: port)
        XCTAssertEqual(try good.handshake(password: "sekrit").0, 320)
        good.send([2, 0, 0, 1, 0, 0, 0, 0]) // SetEncodings: Raw
        good.requestUpdate(incremental: false, width: 320, height: 200)
        XCTAssertEqual(try good.readRawUpdate().first?.w, 320)

        var expectedDrops = 0
        func bad(_ label: String, handshake: Bool = true, _ bytes: [UInt8], line: String) throws {
            let c = try RawRFBClient(port: port)
            if handshake { _ = try c.handshake(password: "sekrit") }
            c.send(bytes)
            XCTAssertTrue(c.closedByServer(), "\(label): the server should drop this client")
            expectedDrops += 1
            XCTAssertTrue(p.waitForOutput(line, timeout: 60), "\(label): no line '\(line)'\n\(p.transcript)")
        }
        var random = SystemRandomNumberGenerator()
        try bad("random bytes", handshake: false, (0..<4096).map { _ in UInt8.random(in: 0...255, using: &random) } + Array("X".utf8),
                line: "not an RFB client")
        try bad("another protocol", handshake: false, Array("SSH-2.0-OpenSSH_9.2p1\r\n".utf8), line: "'SSH-2.0-Ope")
        try bad("version 4", handshake: false, Array("RFB 004.001\n".utf8), line: "unsupported RFB version 4.1")
        try bad("ClientCutText of 4 GiB", [6, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF], line: "ClientCutText of 4294967295 bytes")
        try bad("SetEncodings with 65535 entries", [2, 0, 0xFF, 0xFF] + [UInt8](repeating: 0, count: 1 << 20), line: "SetEncodings with 65535 entries")
        for bpp: UInt8 in [0, 24] {
            try bad("SetPixelFormat \(bpp) bpp", [0, 0, 0, 0, bpp, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0],
                    line: "\(bpp) bits per pixel is not supported")
        }
        try bad("unknown message", [99], line: "unknown client message type 99")
        // A truncated handshake: the version cut short, then the connection closed by the client.
        do {
            let c = try RawRFBClient(port: port)
            _ = try c.read(12)
            c.send(Array("RFB 003.0".utf8))
        }
        // An update request outside the screen is answered with nothing and the client stays.
        let outside = try RawRFBClient(port: port)
        _ = try outside.handshake(password: "sekrit")
        outside.requestUpdate(incremental: false, x: 5000, y: 5000, width: 100, height: 100)
        XCTAssertEqual(try outside.readRawUpdate().count, 0)
        outside.requestUpdate(incremental: false, x: 300, y: 190, width: 1000, height: 1000)
        let clipped = try outside.readRawUpdate()
        XCTAssertEqual(clipped.count, 1)
        XCTAssertTrue(clipped.allSatisfy { $0.x + $0.w <= 320 && $0.y + $0.h <= 200 }, "\(clipped)")

        // The good client still gets updates (the desktop's clock and cursor move), and the guest runs.
        for _ in 0..<3 {
            good.requestUpdate(incremental: true, width: 320, height: 200)
            XCTAssertFalse(try good.readRawUpdate().isEmpty)
        }
        XCTAssertEqual(try capture(port: port, encoding: "raw", bpp: 32, password: "sekrit", to: dir + "/after.png").status, 0)
        p.signal(SIGTERM)
        XCTAssertEqual(p.exitStatus(), 0, p.transcript)
        XCTAssertEqual(p.out.components(separatedBy: " dropped: ").count - 1, expectedDrops + 3, "one line per dropped client\n\(p.transcript)")
        XCTAssertTrue(p.out.contains("guest frames/s: "), p.transcript)
    }

    /// Fifteen clients keep getting the desktop's updates (its cursor moves every frame) while a
    /// sixteenth asks for full updates again and again and never reads; the stalled one is
    /// dropped after the server's stall timeout, with one line, and memory stays bounded.
    /// Updates are counted, not timed: each reading client must get 30 after the stall began.
    func testSixteenClientsOneNeverReadsOthersKeepUpdating() throws {
        try requireKVM()
        let (p, port) = try startServer(["--guest", "desktop", "--seconds", "300", "--stats"])
        // The stalled one: asks for full updates again and again and never reads.
        let stalled = try RawRFBClient(port: port)
        stalled.setReceiveBuffer(4096)
        _ = try stalled.handshake()
        let rssBefore = Self.rss(p.process.processIdentifier)
        let flooding = Latch(), stop = Latch()
        let flood = Thread {
            for i in 0..<2000 where !stop.isRaised {
                stalled.requestUpdate(incremental: false, width: 1280, height: 800)
                if i == 20 { flooding.raise() }
                usleep(5000)
            }
            flooding.raise()
        }
        flood.start()
        XCTAssertTrue(flooding.wait(), "the stalled client's requests went out")
        let updates = 30
        let counts = inParallel(width: 15, (0..<15).map { _ in {
            () -> Int in
            guard let c = try? RawRFBClient(port: port), (try? c.handshake()) != nil else { return -1 }
            c.send([2, 0, 0, 1, 0, 0, 0, 0])
            c.requestUpdate(incremental: false, width: 1280, height: 800)
            guard (try? c.readRawUpdate()) != nil else { return -1 }
            var n = 0
            while n < updates {
                c.requestUpdate(incremental: true, width: 1280, height: 800)
                guard (try? c.readRawUpdate()) != nil else { return n }
                n += 1
            }
            return n
        } })
        let rssAfter = Self.rss(p.process.processIdentifier)
        print("VNC: 15 reading clients beside one that never reads: updates per client \(counts); server RSS \(rssBefore / 1024) -> \(rssAfter / 1024) MiB")
        XCTAssertEqual(counts, [Int](repeating: updates, count: 15), "every reading client got \(updates) updates")
        XCTAssertLessThan(rssAfter - rssBefore, 256 * 1024, "server memory stays bounded (KiB)")
        // The stalled client is dropped with one line after its stall timeout (10 s).
        XCTAssertTrue(p.waitForOutput("read nothing for 10 s", timeout: 120), p.transcript)
        stop.raise()
        p.signal(SIGTERM)
        XCTAssertEqual(p.exitStatus(), 0, p.transcript)
        XCTAssertTrue(p.out.contains("guest frames/s: "), "the guest ran on: \(p.transcript)")
    }

    /// Resident memory of `pid` in KiB.
    static func rss(_ pid: Int32) -> Int {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
    }
}
