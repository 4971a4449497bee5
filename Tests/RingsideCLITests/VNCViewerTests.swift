import Foundation
import TestSupport
import XCTest

/// `ringside run --vnc` with viewers on a screen: TigerVNC's on Xvfb, noVNC in headless Chromium.
final class VNCViewerTests: XCTestCase, VNCClientFixtures {
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
        let chromium = try HeadlessNoVNC.requireChromiumAndNoVNC()
        let dir = try MigrationCheck.tempDir(self, "vnc-novnc")
        let p = try RingsideProcess("vnc", ["run", "--headless", "--vnc-websocket", "127.0.0.1:0", "--guest", "pattern", "--guest-hz", "0",
                                            "--frames", "25", "--width", "333", "--height", "211", "--png", dir, "--seconds", "300"])
        XCTAssertTrue(p.waitForOutput("serving the final frame", timeout: 60), p.transcript)
        guard let port = p.printedPort(after: "VNC over WebSocket on 127.0.0.1:") else {
            return XCTFail("no WebSocket port\n\(p.transcript)")
        }
        let shotPath = dir + "/chromium.png"
        let dump = try DecodedPNG(path: dir + "/frame-000025.png")
        var best = -1
        let seen = try HeadlessNoVNC.lookUntilFound(chromium, ["--window-size=1300,900", "--screenshot=\(shotPath)",
                                                               "http://127.0.0.1:\(port)/vnc.html?autoconnect=true&resize=off"]) { _ -> Int? in
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
            return best == 0 ? best : nil
        }
        if best != 0 { try? FileManager.default.copyItem(atPath: shotPath, toPath: NSTemporaryDirectory() + "ringside-novnc-failed.png") }
        XCTAssertEqual(best, 0, "noVNC shows frame 25 exactly, colours right (-1: not found in the screenshot; \(seen.tries) tries)\n\(p.transcript)\n\(seen.last.err.suffix(2000))")
        p.signal(SIGTERM)
        XCTAssertEqual(p.exitStatus(), 0, p.transcript)
        XCTAssertTrue(p.out.contains("updates (Tight, 32 bpp)"), p.transcript)
    }
}
