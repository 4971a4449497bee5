import Foundation
import TestSupport
import XCTest

/// `ringside run --vnc`'s limits with real clients and a real guest: wrong passwords block an
/// address, the connection cap, and a client that asks for the screen alone.
final class VNCLimitsTests: XCTestCase {
    func captureWithPassword(_ port: Int, _ password: String, to path: String) throws -> (status: Int32, out: String, err: String) {
        try runProgram(URL(fileURLWithPath: "/usr/bin/env"),
                       ["python3", VNCClientTests.script, "127.0.0.1", "\(port)", path, "raw", "32", password], timeout: 60)
    }

    /// Five wrong passwords from 127.0.0.1 (vncdotool): the sixth connection from there is
    /// told why before any challenge, while the right password from 127.0.0.2 still works.
    func testSixthTryFromABlockedAddressIsRefusedBeforeTheChallenge() throws {
        try requireKVMDevice()
        try requirePythonModule("vncdotool", install: "pip install vncdotool")
        let dir = try MigrationCheck.tempDir(self, "vnc-block")
        try "sekrit\n".write(toFile: dir + "/pw", atomically: true, encoding: .utf8)
        let (p, port) = try startVNCRingside(["--guest", "desktop", "--width", "320", "--height", "200",
                                              "--vnc-password-file", dir + "/pw", "--seconds", "300"])
        for i in 1...5 {
            XCTAssertNotEqual(try captureWithPassword(port, "wrong", to: dir + "/bad.png").status, 0, "wrong password \(i) accepted")
        }
        XCTAssertTrue(p.waitForOutput("dropped: VNC authentication failed: wrong password", timeout: 60), p.transcript)
        let sixth = try RawRFBClient(port: port)
        let offer = try sixth.securityTypesOrRefusal()
        XCTAssertEqual(offer.types, [], "the blocked address was offered security types (a challenge would follow)")
        XCTAssertTrue(offer.refusal?.contains("too many failed authentications from 127.0.0.1: try again in 10 s") == true, "\(offer)")
        XCTAssertTrue(sixth.closedByServer(), "the refused connection is closed")
        // vncdotool from the blocked address fails too, whatever the password.
        XCTAssertNotEqual(try captureWithPassword(port, "sekrit", to: dir + "/blocked.png").status, 0)

        let other = try RawRFBClient(port: port, source: "127.0.0.2")
        XCTAssertEqual(try other.handshake(password: "sekrit").0, 320, "the right password from 127.0.0.2")
        other.setEncodings([0])
        other.requestUpdate(incremental: false, width: 320, height: 200)
        XCTAssertEqual(try other.readRawUpdate().first?.w, 320)

        XCTAssertTrue(p.waitForOutput("refused: too many failed authentications", timeout: 60), p.transcript)
        p.signal(SIGTERM)
        XCTAssertEqual(p.exitStatus(), 0, p.transcript)
        XCTAssertEqual(p.out.components(separatedBy: "VNC authentication failed: wrong password").count - 1, 5, p.transcript)
        XCTAssertEqual(p.out.components(separatedBy: "refused: too many failed authentications from 127.0.0.1").count - 1, 2, p.transcript)
    }

    /// With the default cap, 32 clients connect and the 33rd is told why in the handshake,
    /// with one line in the log; once one of the 32 leaves, a new client gets in.
    func testThe33rdClientIsRefusedWithAReason() throws {
        try requireKVMDevice()
        let (p, port) = try startVNCRingside(["--guest", "desktop", "--width", "320", "--height", "200", "--seconds", "300"])
        var clients: [RawRFBClient] = []
        for i in 1...32 {
            let c = try RawRFBClient(port: port)
            XCTAssertEqual(try c.handshake().0, 320, "client \(i)")
            clients.append(c)
        }
        let extra = try RawRFBClient(port: port)
        let offer = try extra.securityTypesOrRefusal()
        XCTAssertEqual(offer.types, [])
        XCTAssertTrue(offer.refusal?.contains("too many clients: the server's limit of 32 connections is reached") == true, "\(offer)")
        XCTAssertTrue(p.waitForOutput("refused: too many clients", timeout: 60), p.transcript)
        clients.removeFirst() // closes its socket
        waitFor("a place for a new client once one left") {
            guard let c = try? RawRFBClient(port: port), let o = try? c.securityTypesOrRefusal() else { return false }
            return o.types == [1]
        }
        p.signal(SIGTERM)
        XCTAssertEqual(p.exitStatus(), 0, p.transcript)
    }

    /// TigerVNC's viewer with -Shared=0 (ClientInit shared = 0) takes the screen alone: the
    /// two clients already connected are disconnected, one line each, and it stays.
    func testANonSharedClientDisconnectsTheOthers() throws {
        try requireKVMDevice()
        let viewer = try requireTool("xtigervncviewer", install: "apt-get install tigervnc-viewer")
        let screen = try XvfbScreen.acquire()
        let (p, port) = try startVNCRingside(["--guest", "desktop", "--width", "320", "--height", "200", "--seconds", "300"])
        let first = try RawRFBClient(port: port), second = try RawRFBClient(port: port)
        _ = try first.handshake()
        _ = try second.handshake()
        let v = try screen.launch(viewer, ["-Shared=0", "127.0.0.1::\(port)"])
        defer { end(v) }
        XCTAssertTrue(p.waitForOutput("connected (RFB 3.8) and asked for the screen alone", timeout: 120), p.transcript)
        XCTAssertTrue(first.closedByServer(), "the first shared client was not disconnected")
        XCTAssertTrue(second.closedByServer(), "the second shared client was not disconnected")
        XCTAssertTrue(v.isRunning, "the viewer that asked for the screen alone stays")
        p.signal(SIGTERM)
        XCTAssertEqual(p.exitStatus(), 0, p.transcript)
        XCTAssertEqual(p.out.components(separatedBy: "(ClientInit not shared)").count - 1, 2, p.transcript)
    }

    func testLimitOptionsAreInTheHelpAndBadValuesAreOneLine() throws {
        let help = try runRingside(["run", "--help"])
        for option in ["--vnc-auth-block-after", "--vnc-auth-block-seconds", "--vnc-max-clients"] {
            XCTAssertTrue(help.out.contains(option), "\(option) in run --help")
        }
        for (args, needle) in [(["--vnc-max-clients", "0"], "--vnc-max-clients 0 is out of range"),
                               (["--vnc-auth-block-seconds", "0"], "--vnc-auth-block-seconds 0 is out of range"),
                               (["--vnc-auth-block-after", "x"], "--vnc-auth-block-after 'x' is not a whole number")] {
            let r = try runRingside(["run", "--headless", "--frames", "1", "--vnc", ":1"] + args)
            XCTAssertNotEqual(r.status, 0, "\(args)")
            XCTAssertEqual(r.err.split(separator: "\n").count, 1, "one line for \(args): \(r.err)")
            XCTAssertTrue(r.err.contains(needle), "\(args): \(r.err)")
        }
    }
}
