import Foundation
import TestSupport
import XCTest

/// Tight JPEG with a real client: TigerVNC's viewer asks for a JPEG quality level, sees the
/// animating plasma guest through JPEG (close to one of the guest's frames), and once the
/// guest has stopped, the lossless refresh makes its window exactly the final frame.
final class VNCJPEGClientTests: XCTestCase {
    func testTigerVNCWithQualityLevelGetsJPEGWhileAnimatingThenTheExactFrame() throws {
        guard FileManager.default.fileExists(atPath: "/dev/kvm") else { throw XCTSkip("needs /dev/kvm") }
        guard let viewer = XvfbScreen.which("xtigervncviewer") else { throw XCTSkip("needs xtigervncviewer (apt-get install tigervnc-viewer)") }
        try DecodedPNG.requireDecoder()
        let screen = try XvfbScreen.acquire()
        let dir = try MigrationCheck.tempDir(self, "vnc-jpeg")
        let (w, h, frames) = (480, 300, 100)
        let p = try RingsideProcess("vnc-jpeg", ["run", "--headless", "--vnc", "127.0.0.1:0", "--guest", "plasma", "--guest-hz", "20",
                                                 "--frames", "\(frames)", "--width", "\(w)", "--height", "\(h)", "--png", dir, "--png-every", "1",
                                                 "--seconds", "300"])
        guard p.waitForOutput("VNC server on 127.0.0.1:", timeout: 60),
              let line = p.out.split(separator: "\n").first(where: { $0.hasPrefix("VNC server on 127.0.0.1:") }),
              let port = Int(line.dropFirst("VNC server on 127.0.0.1:".count).prefix { $0.isNumber }) else {
            return XCTFail("no VNC server line\n\(p.transcript)")
        }
        let v = try screen.launch(viewer, ["-AutoSelect=0", "-QualityLevel=5", "127.0.0.1::\(port)"])
        defer { if v.isRunning { v.terminate(); v.waitUntilExit() } }
        XCTAssertTrue(p.waitForOutput("connected (RFB 3.8)", timeout: 20), p.transcript)
        // While the guest animates: a few screenshots (which frame each shows is not known yet).
        var moving: [Screenshot] = []
        while !p.out.contains("serving the final frame") && moving.count < 4 {
            usleep(700_000)
            if !p.out.contains("serving the final frame") { moving.append(try screen.capture()) }
        }
        XCTAssertTrue(p.waitForOutput("serving the final frame", timeout: 60), p.transcript)
        // After the quiet time the window must be the final frame exactly: find it.
        let final = try DecodedPNG(path: dir + String(format: "/frame-%06d.png", frames))
        var best = -1, at = (0, 0)
        for _ in 0..<40 where best != 0 {
            usleep(250_000)
            let shot = try screen.capture()
            search: for oy in 0..<100 {
                for ox in 0..<100 where shot.pixel(x: ox, y: oy) == final.pixel(x: 0, y: 0)
                    && shot.pixel(x: ox + w - 1, y: oy + h - 1) == final.pixel(x: w - 1, y: h - 1) {
                    var wrong = 0
                    for y in 0..<h { for x in 0..<w where shot.pixel(x: ox + x, y: oy + y) != final.pixel(x: x, y: y) { wrong += 1 } }
                    if best < 0 || wrong < best { best = wrong; at = (ox, oy) }
                    if wrong == 0 { break search }
                }
            }
        }
        XCTAssertEqual(best, 0, "after the guest stopped, the viewer shows the final frame exactly (-1: not found on screen)")
        // Each moving screenshot is close to some guest frame (JPEG), judged where the final frame was found.
        XCTAssertFalse(moving.isEmpty, "no screenshot while the guest animated")
        if best == 0 {
            var dumped: [DecodedPNG] = []
            for f in stride(from: 1, through: frames, by: 1) { if let d = try? DecodedPNG(path: dir + String(format: "/frame-%06d.png", f)) { dumped.append(d) } }
            for (i, shot) in moving.enumerated() {
                var closest = Double.infinity
                for d in dumped {
                    var sum = 0
                    for y in stride(from: 0, to: h, by: 2) {
                        for x in stride(from: 0, to: w, by: 2) {
                            let a = shot.pixel(x: at.0 + x, y: at.1 + y), b = d.pixel(x: x, y: y)
                            for s in [16, 8, 0] as [UInt32] { sum += abs(Int((a >> s) & 0xFF) - Int((b >> s) & 0xFF)) }
                        }
                    }
                    closest = min(closest, Double(sum) / Double(3 * (w / 2) * (h / 2)))
                }
                XCTAssertLessThan(closest, 8, "moving screenshot \(i): mean channel error \(closest) against the nearest guest frame")
            }
        }
        v.terminate()
        v.waitUntilExit()
        XCTAssertTrue(p.waitForOutput("lossless refreshes", timeout: 10), p.transcript)
        let bye = p.out.split(separator: "\n").first { $0.contains("disconnected after") } ?? ""
        func count(before word: String) -> Int {
            guard let r = bye.range(of: " " + word) else { return 0 }
            return Int(bye[..<r.lowerBound].split(separator: " ").last ?? "") ?? 0
        }
        XCTAssertTrue(bye.contains("(Tight, 32 bpp)"), String(bye))
        XCTAssertGreaterThan(count(before: "JPEG rectangles"), 0, "the viewer was sent JPEG: \(bye)")
        XCTAssertGreaterThan(count(before: "lossless refreshes"), 0, "and at least one lossless refresh: \(bye)")
        p.signal(SIGTERM)
        XCTAssertEqual(p.exitStatus(), 0, p.transcript)
    }

    /// noVNC asks for JPEG quality 6 by default: headless Chromium connected while plasma
    /// animates is sent JPEG rectangles. (Chromium's virtual time ends its run about a second
    /// after connecting, sometimes after only the first, full update, so up to 5 runs; the exact
    /// picture after the refresh is checked with TigerVNC's viewer above, not here.)
    func testNoVNCIsSentJPEGWhileThePlasmaGuestAnimates() throws {
        guard FileManager.default.fileExists(atPath: "/dev/kvm") else { throw XCTSkip("needs /dev/kvm") }
        guard let chromium = XvfbScreen.which("chromium-headless-shell") ?? XvfbScreen.which("chromium") else {
            throw XCTSkip("needs chromium-headless-shell (apt-get install chromium-headless-shell)")
        }
        guard FileManager.default.fileExists(atPath: "/usr/share/novnc/vnc.html") else { throw XCTSkip("needs noVNC (apt-get install novnc)") }
        let dir = try MigrationCheck.tempDir(self, "vnc-novnc-jpeg")
        let p = try RingsideProcess("vnc-novnc-jpeg", ["run", "--headless", "--vnc-websocket", "127.0.0.1:0", "--guest", "plasma", "--guest-hz", "60",
                                                       "--frames", "3000", "--width", "480", "--height", "300", "--seconds", "300"])
        guard p.waitForOutput("VNC over WebSocket on 127.0.0.1:", timeout: 60),
              let line = p.out.split(separator: "\n").first(where: { $0.hasPrefix("VNC over WebSocket on 127.0.0.1:") }),
              let port = Int(line.dropFirst("VNC over WebSocket on 127.0.0.1:".count).prefix { $0.isNumber }) else {
            return XCTFail("no WebSocket port\n\(p.transcript)")
        }
        let shotPath = dir + "/chromium.png"
        var jpeg = 0, runs = 0
        var byes: [Substring] = []
        while jpeg == 0 && runs < 5 {
            runs += 1
            let r = try runProgram(URL(fileURLWithPath: chromium),
                                   ["--no-sandbox", "--disable-gpu", "--window-size=1000,700", "--virtual-time-budget=15000", "--screenshot=\(shotPath)",
                                    "http://127.0.0.1:\(port)/vnc.html?autoconnect=true&resize=off"], timeout: 120)
            XCTAssertEqual(r.status, 0, r.err)
            let deadline = Date(timeIntervalSinceNow: 20)
            while p.out.components(separatedBy: "disconnected after").count - 1 < runs && Date() < deadline { usleep(100_000) }
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
