import Foundation
import TestSupport
import XCTest

/// Tight JPEG with a real client: TigerVNC's viewer asks for a JPEG quality level, sees the
/// animating plasma guest through JPEG (close to one of the guest's frames), and once the
/// guest has stopped, the lossless refresh makes its window exactly the final frame.
final class VNCJPEGClientTests: XCTestCase, VNCClientFixtures {
    /// The guest's frames pass only while ringside runs: it is stopped (SIGSTOP) while the
    /// viewer starts and while each screenshot of the animation is taken, so how fast the host
    /// is decides nothing, and the animation cannot end before the test has looked at it.
    func testTigerVNCWithQualityLevelGetsJPEGWhileAnimatingThenTheExactFrame() throws {
        try requireKVMDevice()
        let viewer = try requireTool("xtigervncviewer", install: "apt-get install tigervnc-viewer")
        try DecodedPNG.requireDecoder()
        let screen = try XvfbScreen.acquire()
        let dir = try MigrationCheck.tempDir(self, "vnc-jpeg")
        let (w, h, frames) = (480, 300, 60)
        let (p, port) = try startServer(["--guest", "plasma", "--guest-hz", "20", "--frames", "\(frames)", "--width", "\(w)", "--height", "\(h)",
                                         "--png", dir, "--png-every", "1", "--seconds", "300"])
        p.signal(SIGSTOP)
        defer { p.signal(SIGCONT) }
        let viewerLog = dir + "/viewer.log"
        let v = try screen.launch(viewer, ["-AutoSelect=0", "-QualityLevel=5", "127.0.0.1::\(port)"], log: viewerLog)
        defer { end(v) }
        let connected = poll(timeout: 120) { TCP.established(toPort: port) }
        XCTAssertTrue(connected, "the viewer connected (running: \(v.isRunning))\n\((try? String(contentsOfFile: viewerLog, encoding: .utf8)) ?? "")")
        p.signal(SIGCONT)
        XCTAssertTrue(p.waitForOutput("connected (RFB 3.8)", timeout: 120), p.transcript)
        // While the guest animates: screenshots (which frame each shows is not known yet),
        // each with ringside stopped, after a fifth of a second of frames. The first ones may
        // come before the viewer has drawn anything.
        var moving: [Screenshot] = []
        while !p.out.contains("serving the final frame") && moving.count < 6 {
            usleep(200_000)
            p.signal(SIGSTOP)
            if !p.out.contains("serving the final frame") { moving.append(try screen.capture()) }
            p.signal(SIGCONT)
        }
        XCTAssertTrue(p.waitForOutput("serving the final frame", timeout: 120), p.transcript)
        // After the quiet time the window must be the final frame exactly: find it.
        let final = try DecodedPNG(path: dir + String(format: "/frame-%06d.png", frames))
        let found = try screen.waitForPicture(width: w, height: h, within: (100, 100)) { final.pixel(x: $0, y: $1) }
        XCTAssertEqual(found?.wrong, 0, "after the guest stopped, the viewer shows the final frame exactly (nil: not found on screen)")
        // Each moving screenshot that shows a picture there (the viewer had drawn) is close to
        // some guest frame (JPEG), judged where the final frame was found; at least two did.
        XCTAssertFalse(moving.isEmpty, "no screenshot while the guest animated")
        if let at = found, at.wrong == 0 {
            try assertMovingShotsAreCloseToGuestFrames(moving, at: (at.x, at.y), size: (w, h), dumpedIn: dir)
        }
        end(v)
        XCTAssertTrue(p.waitForOutput("lossless refreshes", timeout: 120), p.transcript)
        assertTheViewerGotJPEGThenALosslessRefresh(p)
        p.signal(SIGTERM)
        XCTAssertEqual(p.exitStatus(), 0, p.transcript)
    }

    /// Each moving screenshot that shows a picture where the final frame was found at `at`
    /// (the viewer had drawn) is close to some guest frame dumped in `dir` (JPEG); at least two did.
    private func assertMovingShotsAreCloseToGuestFrames(_ moving: [Screenshot], at: (x: Int, y: Int), size: (w: Int, h: Int),
                                                        dumpedIn dir: String) throws {
        let (w, h) = size
        let dumped = try DecodedPNG.decodeAll(MigrationCheck.pngFiles(dir).map { dir + "/" + $0 })
        // Mean channel error over a grid with `step` pixels between samples.
        func error(_ shot: Screenshot, _ d: DecodedPNG, step: Int) -> Double {
            var sum = 0, n = 0
            for y in stride(from: 0, to: h, by: step) {
                for x in stride(from: 0, to: w, by: step) {
                    let a = shot.pixel(x: at.x + x, y: at.y + y), b = d.pixel(x: x, y: y)
                    for s in [16, 8, 0] as [UInt32] { sum += abs(Int((a >> s) & 0xFF) - Int((b >> s) & 0xFF)) }
                    n += 3
                }
            }
            return Double(sum) / Double(n)
        }
        func blank(_ shot: Screenshot) -> Bool {
            let c = shot.pixel(x: at.x, y: at.y)
            return stride(from: 0, to: h, by: 8).allSatisfy { y in stride(from: 0, to: w, by: 8).allSatisfy { shot.pixel(x: at.x + $0, y: at.y + y) == c } }
        }
        let drawn = moving.filter { !blank($0) }
        XCTAssertGreaterThanOrEqual(drawn.count, 2, "screenshots with the viewer's picture while the guest animated: \(drawn.count) of \(moving.count)")
        for (i, shot) in drawn.enumerated() {
            // A coarse grid picks the candidates, a fine one judges them (a debug build is slow).
            let candidates = dumped.map { (coarse: error(shot, $0, step: 8), dump: $0) }.sorted { $0.coarse < $1.coarse }.prefix(3)
            let closest = candidates.map { error(shot, $0.dump, step: 2) }.min() ?? .infinity
            XCTAssertLessThan(closest, 8, "moving screenshot \(i): mean channel error \(closest) against the nearest guest frame")
        }
    }

    /// The viewer's goodbye line: Tight at 32 bpp, JPEG rectangles, a lossless refresh, and
    /// continuous updates.
    private func assertTheViewerGotJPEGThenALosslessRefresh(_ p: RingsideProcess) {
        let bye = p.out.split(separator: "\n").first { $0.contains("disconnected after") } ?? ""
        func count(before word: String) -> Int {
            guard let r = bye.range(of: " " + word) else { return 0 }
            return Int(bye[..<r.lowerBound].split(separator: " ").last ?? "") ?? 0
        }
        XCTAssertTrue(bye.contains("(Tight, 32 bpp)"), String(bye))
        XCTAssertGreaterThan(count(before: "JPEG rectangles"), 0, "the viewer was sent JPEG: \(bye)")
        XCTAssertGreaterThan(count(before: "lossless refreshes"), 0, "and at least one lossless refresh: \(bye)")
        // TigerVNC turns continuous updates on after its first update: the animation and the
        // lossless refresh reached it without requests.
        XCTAssertGreaterThan(count(before: "of them continuous"), 0, "the viewer used continuous updates: \(bye)")
    }

    /// noVNC asks for JPEG quality 6 by default: headless Chromium connected while plasma
    /// animates is sent JPEG rectangles. (Chromium's virtual time ends its run about a second
    /// after connecting, sometimes after only the first, full update, so up to 5 runs; the exact
    /// picture after the refresh is checked with TigerVNC's viewer above, not here.) The guest
    /// animates until the test ends it.
    func testNoVNCIsSentJPEGWhileThePlasmaGuestAnimates() throws {
        try requireKVMDevice()
        let chromium = try HeadlessNoVNC.requireChromiumAndNoVNC()
        let dir = try MigrationCheck.tempDir(self, "vnc-novnc-jpeg")
        let p = try RingsideProcess("vnc-novnc-jpeg", ["run", "--headless", "--vnc-websocket", "127.0.0.1:0", "--guest", "plasma", "--guest-hz", "60",
                                                       "--width", "480", "--height", "300", "--seconds", "600"])
        guard let port = p.printedPort(after: "VNC over WebSocket on 127.0.0.1:") else {
            return XCTFail("no WebSocket port\n\(p.transcript)")
        }
        let shotPath = dir + "/chromium.png"
        var jpeg = 0, runs = 0
        var byes: [Substring] = []
        while jpeg == 0 && runs < 5 {
            runs += 1
            let r = try runProgram(URL(fileURLWithPath: chromium),
                                   ["--no-sandbox", "--disable-gpu", "--window-size=1000,700", "--virtual-time-budget=15000", "--screenshot=\(shotPath)",
                                    "http://127.0.0.1:\(port)/vnc.html?autoconnect=true&resize=off"], timeout: 300)
            XCTAssertEqual(r.status, 0, r.err)
            XCTAssertTrue(poll(timeout: 120) { p.out.components(separatedBy: "disconnected after").count - 1 >= runs }, p.transcript)
            byes = p.out.split(separator: "\n").filter { $0.contains("disconnected after") }
            XCTAssertEqual(byes.count, runs, p.transcript)
            jpeg = 0
            for bye in byes {
                XCTAssertTrue(bye.contains("(Tight, 32 bpp)"), String(bye))
                jpeg += bye.range(of: " JPEG rectangles").flatMap { Int(bye[..<$0.lowerBound].split(separator: " ").last ?? "") } ?? 0
            }
        }
        XCTAssertGreaterThan(jpeg, 0, "noVNC was sent JPEG in one of \(runs) runs: \(byes)")
        XCTAssertFalse(p.out.contains("dropped"), p.transcript)
        p.signal(SIGTERM)
        XCTAssertEqual(p.exitStatus(), 0, p.transcript)
    }
}
