import Foundation
import Machine
import TestSupport
import XCTest

/// DOOM over VNC: with clock=frames the demo's frame N, served by `ringside run --vnc` after
/// `--frames N` at the default 60 Hz pacing, is in real VNC clients' captures (vncdotool with
/// Raw and ZRLE, gvnccapture) pixel for pixel the `--png` dump of frame N of a separate,
/// free-running run.
final class DoomVNCTests: XCTestCase {
    static let doom = BuiltGuest.named("doom")!
    static let captureScript = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("scripts/vnc_capture.py").path

    func requireDoomAndAClient() throws {
        guard FileManager.default.fileExists(atPath: "/dev/kvm") else { throw XCTSkip("needs /dev/kvm") }
        guard Self.doom.isBuilt else {
            throw XCTSkip("DOOM is not built in \(Self.doom.directory): run `\(Self.doom.buildCommand)` (CI does, in .ci/run)")
        }
        try DecodedPNG.requireDecoder()
        let r = try? runProgram(URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-c", "import vncdotool"], timeout: 30)
        if r?.status != 0 { throw XCTSkip("needs vncdotool for python3 (pip install vncdotool)") }
    }

    /// Pixels that differ (-1: the sizes differ).
    func mismatches(_ a: DecodedPNG, _ b: DecodedPNG) -> Int {
        guard a.width == b.width, a.height == b.height else { return -1 }
        var n = 0
        for y in 0..<a.height { for x in 0..<a.width where a.pixel(x: x, y: y) != b.pixel(x: x, y: y) { n += 1 } }
        return n
    }

    func testVNCClientsCaptureTheDemosFrameNExactlyAsAnotherRunsPNGDump() throws {
        try requireDoomAndAClient()
        let dir = try MigrationCheck.tempDir(self, "doom-vnc")
        // 640x400: DOOM's 320x200 at scale 2. Frame 450 is in the first demo (it starts at about 215).
        let frames = 450, geometry = ["--guest", "doom", "--args", "clock=frames", "--width", "640", "--height", "400", "--frames", "\(frames)"]
        let reference = try runRingside(["run", "--headless", "--guest-hz", "0", "--png", dir + "/ref", "--png-every", "\(frames)"] + geometry,
                                        timeout: 180)
        XCTAssertEqual(reference.status, 0, reference.err)
        let dump = try DecodedPNG(path: dir + "/ref/" + MigrationCheck.pngName(frames))

        let (server, port) = try startVNCRingside(["--seconds", "300"] + geometry)
        defer { if server.isRunning { server.signal(SIGKILL) } }
        // 450 frames at 60 Hz: 7.5 s, more on a loaded host.
        XCTAssertTrue(server.waitForOutput("serving the final frame", timeout: 120), server.transcript)

        // vncdotool decodes ZRLE only at 32 bpp (3-byte CPIXELs).
        for encoding in ["raw", "zrle"] {
            let path = dir + "/vncdotool-\(encoding).png"
            let r = try runProgram(URL(fileURLWithPath: "/usr/bin/env"), ["python3", Self.captureScript, "127.0.0.1", "\(port)", path, encoding, "32"],
                                   timeout: 60)
            XCTAssertEqual(r.status, 0, "vncdotool \(encoding): \(r.err)")
            XCTAssertEqual(mismatches(dump, try DecodedPNG(path: path)), 0, "vncdotool's \(encoding) capture of frame \(frames) differs from the dump")
        }
        if let gvnccapture = XvfbScreen.which("gvnccapture") {
            let path = dir + "/gvnccapture.png"
            let r = try runProgram(URL(fileURLWithPath: gvnccapture), ["127.0.0.1:\(port - 5900)", path], timeout: 60)
            XCTAssertEqual(r.status, 0, "gvnccapture: \(r.err)")
            XCTAssertEqual(mismatches(dump, try DecodedPNG(path: path)), 0, "gvnccapture's (ZRLE) capture of frame \(frames) differs from the dump")
        }
        // A real picture, not a blank screen (DoomGuestTests checks that the demo animates).
        let colours = Set((0..<400).flatMap { y in (0..<640).map { dump.pixel(x: $0, y: y) } })
        XCTAssertGreaterThan(colours.count, 30, "frame \(frames) is a real picture")
        server.signal(SIGTERM)
        XCTAssertEqual(server.exitStatus(timeout: 30), 0, server.transcript)
        XCTAssertFalse(server.out.contains("dropped"), server.transcript)
    }
}
