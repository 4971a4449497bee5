import Foundation
import TestSupport
import XCTest

/// The three bugs of issue 22, each as a new user met it, with real clients and a real guest.
final class VNCUserBugTests: XCTestCase {
    static let scripts = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("scripts").path

    /// vncdotool's `vncdo` command, run through the python3 that has the module (the script
    /// pip installs may not be on PATH).
    func vncdo(_ port: Int, _ commands: [String], password: String? = nil) throws -> (status: Int32, out: String, err: String) {
        try requirePythonModule("vncdotool", install: "pip install vncdotool")
        return try runProgram(URL(fileURLWithPath: "/usr/bin/env"),
                              ["python3", "-c", "import sys; from vncdotool.command import vncdo; sys.argv[0] = 'vncdo'; sys.exit(vncdo())",
                               "-s", "127.0.0.1::\(port)"] + (password.map { ["-p", $0] } ?? []) + commands, timeout: 60)
    }

    /// vncdotool presses the left button and Shift in `paint` and exits holding both: the
    /// server releases them (`--log-input` shows it), so a second vncdotool that only moves
    /// the pointer across the canvas draws nothing there. Before, the button stayed down and
    /// the second client drew lines.
    func testWhatADisconnectedClientHeldIsReleased() throws {
        try requireKVMDevice()
        try requirePythonModule("vncdotool", install: "pip install vncdotool")
        let (w, h) = (320, 240)
        let (p, port) = try startVNCRingside(["--guest", "paint", "--width", "\(w)", "--height", "\(h)", "--fixed-mode",
                                              "--log-input", "--seconds", "300"])
        // An observer that never sends input: it reads the picture.
        let observer = try RawRFBClient(port: port)
        _ = try observer.handshake()
        observer.setEncodings([0])

        let a = try vncdo(port, ["move", "100", "100", "mousedown", "1", "keydown", "shift"])
        XCTAssertEqual(a.status, 0, "vncdo (holding): \(a.err)")
        XCTAssertTrue(p.waitForOutput("button down left", timeout: 60), p.transcript)
        XCTAssertTrue(p.waitForOutput("button up left", timeout: 60), "the held button is released when its client leaves\n\(p.transcript)")
        XCTAssertTrue(p.waitForOutput("key up KEY_LEFTSHIFT", timeout: 60), "the held Shift is released\n\(p.transcript)")

        // The second client moves across the canvas, then picks red (key 2): once the strip
        // shows red selected, the guest has handled the moves before it.
        let b = try vncdo(port, ["move", "50", "200", "move", "250", "200", "key", "2"])
        XCTAssertEqual(b.status, 0, "vncdo (moving): \(b.err)")
        var picture: (w: Int, h: Int, pixels: [UInt32])?
        let redSelected = poll(timeout: 120, every: 0.05) {
            guard let got = try? VNCClientTests.wholePicture(observer, size: (w, h)) else { return false }
            picture = got
            // Swatch 1 (red) spans x in [30, 58) of the strip; the selected one is framed in 0xFCE94F.
            return (0..<24).contains { y in (30..<58).contains { x in got.pixels[y * w + x] == 0xFCE94F } }
        }
        XCTAssertTrue(redSelected, "the strip never showed red selected\n\(p.transcript)")
        guard let shot = picture else { return }
        // Only the first client's stamp (a 3x3 brush at 100,100) may be drawn on the canvas; the
        // observer (no cursor pseudo-encoding) also gets paint's 11x11 crosshair at the pointer.
        var drawn: [(Int, Int)] = []
        func crosshair(_ x: Int, _ y: Int) -> Bool { (245...255).contains(x) && (195...205).contains(y) }
        for y in 24..<h { for x in 0..<w where shot.pixels[y * w + x] != 0xFFFFFF && !((99...101).contains(x) && (99...101).contains(y)) && !crosshair(x, y) {
            drawn.append((x, y))
        } }
        XCTAssertEqual(drawn.count, 0, "the second client drew with a button it never pressed, e.g. at \(drawn.prefix(4))")
        p.signal(SIGTERM)
        XCTAssertEqual(p.exitStatus(), 0, p.transcript)
    }

    /// A password file written on Windows (`abc\r\n`) means the password `abc`: vncdotool
    /// authenticates with it, and nothing is warned. A control character inside the line is
    /// kept but warned about, in one line.
    func testPasswordFileWithCRLFMeansThePasswordWithoutIt() throws {
        try requireKVMDevice()
        try requirePythonModule("vncdotool", install: "pip install vncdotool")
        let dir = try MigrationCheck.tempDir(self, "vnc-crlf")
        FileManager.default.createFile(atPath: dir + "/pw", contents: Data("abc\r\n".utf8))
        let (p, port) = try startVNCRingside(["--guest", "desktop", "--width", "320", "--height", "200",
                                              "--vnc-password-file", dir + "/pw", "--seconds", "300"])
        let r = try vncdo(port, ["capture", dir + "/shot.png"], password: "abc")
        XCTAssertEqual(r.status, 0, "vncdotool with the password 'abc': \(r.err)\n\(p.transcript)")
        XCTAssertTrue(p.waitForOutput("connected (RFB 3.8, authenticated)", timeout: 60), p.transcript)
        XCTAssertFalse(p.err.contains("warning"), p.transcript)
        p.signal(SIGTERM)
        XCTAssertEqual(p.exitStatus(), 0, p.transcript)

        FileManager.default.createFile(atPath: dir + "/tab", contents: Data("ab\tc\n".utf8))
        let warned = try runRingside(["run", "--headless", "--seconds", "1", "--guest", "desktop", "--vnc", "127.0.0.1:0",
                                      "--vnc-password-file", dir + "/tab"])
        XCTAssertEqual(warned.status, 0, warned.err)
        let lines = warned.err.split(separator: "\n").filter { $0.contains("warning") }
        XCTAssertEqual(lines.count, 1, warned.err)
        XCTAssertTrue(lines.first?.contains("control character") == true, warned.err)
    }

    /// A client that reads 4 KiB every half second while asking for whole frames cannot
    /// take its updates: it is dropped after the stall timeout with a line that says so
    /// (how much it read, how much waited), not that it "read nothing".
    func testASlowReaderIsDroppedWithWhatHappened() throws {
        try requireKVMDevice()
        let (p, port) = try startVNCRingside(["--guest", "desktop", "--seconds", "300"])
        let slow = try RawRFBClient(port: port)
        slow.setReceiveBuffer(4096)
        let size = try slow.handshake()
        slow.setEncodings([0])
        var read = 0, closed = false
        // Bounded by the server's drop (after its 10 s stall timeout), not by this count.
        for _ in 0..<240 where !closed {
            slow.requestUpdate(incremental: false, width: size.0, height: size.1)
            Thread.sleep(forTimeInterval: 0.5)
            if let n = slow.readSome(max: 4096, timeout: 0) { read += n } else { closed = true }
        }
        XCTAssertTrue(closed, "the slow client was not dropped\n\(p.transcript)")
        XCTAssertGreaterThan(read, 0)
        XCTAssertTrue(p.waitForOutput(" dropped: ", timeout: 60), p.transcript)
        let line = p.out.split(separator: "\n").first { $0.contains(" dropped: ") }.map(String.init) ?? ""
        print("a client reading 4 KiB every 0.5 s (it read \(read) bytes): \(line)")
        XCTAssertFalse(line.contains("read nothing"), "it did read: \(line)")
        XCTAssertTrue(line.contains("did not read"), line)
        p.signal(SIGTERM)
        XCTAssertEqual(p.exitStatus(), 0, p.transcript)
    }
}
