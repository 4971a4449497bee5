import Foundation
import TestSupport
import XCTest

/// `ringside run --vnc`: its option mistakes, and real VNC clients (vncdotool, gvnccapture)
/// capturing and typing over real sockets, with a real guest.
final class VNCClientTests: XCTestCase, VNCClientFixtures {
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
}
