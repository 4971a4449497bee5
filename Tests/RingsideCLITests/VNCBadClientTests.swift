import Foundation
import TestSupport
import XCTest

/// `ringside run --vnc` against wrong passwords, malformed clients and a client that never reads:
/// each dropped with one line while the good clients keep getting updates.
final class VNCBadClientTests: XCTestCase, VNCClientFixtures {
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

        let expectedDrops = try dropBadClients(port: port, server: p)
        let outside = try clientAskingOutsideTheScreen(port: port)

        // The good client still gets updates (the desktop's clock and cursor move), and the guest runs.
        for _ in 0..<3 {
            good.requestUpdate(incremental: true, width: 320, height: 200)
            XCTAssertFalse(try good.readRawUpdate().isEmpty)
        }
        XCTAssertEqual(try capture(port: port, encoding: "raw", bpp: 32, password: "sekrit", to: dir + "/after.png").status, 0)
        withExtendedLifetime(outside) { p.signal(SIGTERM) }
        XCTAssertEqual(p.exitStatus(), 0, p.transcript)
        XCTAssertEqual(p.out.components(separatedBy: " dropped: ").count - 1, expectedDrops + 3, "one line per dropped client\n\(p.transcript)")
        XCTAssertTrue(p.out.contains("guest frames/s: "), p.transcript)
    }

    /// Connects one malformed client after another (each dropped with its line in `server`'s
    /// output), then a handshake cut short; returns how many were dropped.
    private func dropBadClients(port: Int, server p: RingsideProcess) throws -> Int {
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
        return expectedDrops
    }

    /// An update request outside the screen is answered with nothing and the client stays;
    /// one that reaches past its edge is clipped to it. Returns the client, still connected.
    private func clientAskingOutsideTheScreen(port: Int) throws -> RawRFBClient {
        let outside = try RawRFBClient(port: port)
        _ = try outside.handshake(password: "sekrit")
        outside.requestUpdate(incremental: false, x: 5000, y: 5000, width: 100, height: 100)
        XCTAssertEqual(try outside.readRawUpdate().count, 0)
        outside.requestUpdate(incremental: false, x: 300, y: 190, width: 1000, height: 1000)
        let clipped = try outside.readRawUpdate()
        XCTAssertEqual(clipped.count, 1)
        XCTAssertTrue(clipped.allSatisfy { $0.x + $0.w <= 320 && $0.y + $0.h <= 200 }, "\(clipped)")
        return outside
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
}
