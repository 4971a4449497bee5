import Foundation
import TestSupport
import XCTest

/// `ringside run --vnc` with nobody connected idles (its syncs only harvest), and a client
/// that connects later gets exactly the guest's picture, over a real socket.
final class IdleDisplayCLITests: XCTestCase {
    /// Starts `ringside run --headless --vnc 127.0.0.1:0 args`; returns it with its port.
    func startServer(_ args: [String]) throws -> (RingsideProcess, Int) { try startVNCRingside(args, label: "idle") }

    /// A whole picture from a new Raw client.
    func picture(port: Int) throws -> (w: Int, h: Int, pixels: [UInt32]) {
        let c = try RawRFBClient(port: port)
        let size = try c.handshake()
        c.setEncodings([0])
        return try VNCClientTests.wholePicture(c, size: size)
    }

    /// No reader during the whole run (the summary says 0 display syncs, the rest idle); a
    /// client connecting after frame 40 sees exactly the PNG file of frame 40 that a run with
    /// a reader (the PNG dumper) wrote.
    func testAClientAfterAnIdleRunSeesExactlyTheFrameARunWithAReaderDumped() throws {
        try requireKVMDevice()
        try DecodedPNG.requireDecoder()
        let dir = try MigrationCheck.tempDir(self, "idle-vnc")
        for (guest, args) in [("desktop", ""), ("bounce", "sprites=8")] {
            let geometry = ["--guest", guest, "--args", args, "--width", "320", "--height", "200", "--frames", "40"]
            let reference = try runRingside(["run", "--headless", "--png", dir, "--png-every", "40"] + geometry)
            XCTAssertEqual(reference.status, 0, reference.err)
            let dump = try DecodedPNG(path: dir + "/frame-000040.png")
            let (p, port) = try startServer(geometry + ["--seconds", "300"])
            XCTAssertTrue(p.waitForOutput("serving the final frame", timeout: 120), p.transcript)
            XCTAssertTrue(p.out.contains("display: 0 syncs (0.0/s)"), "\(guest): no display sync without a reader\n\(p.out)")
            XCTAssertTrue(p.out.contains("more with no reader (harvest only)"), "\(guest): the idle syncs are counted\n\(p.out)")
            let got = try picture(port: port)
            XCTAssertEqual([got.w, got.h], [dump.width, dump.height], guest)
            var wrong = 0
            for y in 0..<got.h { for x in 0..<got.w where got.pixels[y * got.w + x] != dump.pixel(x: x, y: y) & 0xFF_FFFF { wrong += 1 } }
            XCTAssertEqual(wrong, 0, "\(guest): the client's picture differs from the dump of frame 40 in \(wrong) pixels")
            p.signal(SIGTERM)
            XCTAssertEqual(p.exitStatus(), 0, p.transcript)
        }
    }

    /// The `pattern` guest running at 60 Hz with nobody watching: each of three clients, one
    /// after another, gets a picture that is exactly one of its documented frames.
    func testClientsConnectingMidRunGetExactFrames() throws {
        try requireKVMDevice()
        let (p, port) = try startServer(["--guest", "pattern", "--width", "320", "--height", "200", "--seconds", "300"])
        for i in 0..<3 {
            let got = try picture(port: port)
            // Frame n's pixel (0, 0) is (n & 0xFF, 2n & 0xFF, 0): n modulo 256 from its red.
            let n = Int(got.pixels[0] >> 16 & 0xFF)
            var wrong = 0
            for y in 0..<got.h { for x in 0..<got.w where got.pixels[y * got.w + x] != patternPixel(x: x, y: y, frame: n) { wrong += 1 } }
            XCTAssertEqual(wrong, 0, "client \(i): \(wrong) pixels differ from pattern frame \(n) (mod 256)")
        }
        p.signal(SIGTERM)
        XCTAssertEqual(p.exitStatus(), 0, p.transcript)
        XCTAssertTrue(p.out.contains("more with no reader (harvest only)"), "the run idled between clients\n\(p.out)")
    }
}
