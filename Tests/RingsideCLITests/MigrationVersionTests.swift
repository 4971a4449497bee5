import Foundation
import MigrationWire
import TestSupport
import XCTest

/// A peer of the previous protocol version (3, before heartbeats and the outcome query) gets
/// a clear refusal at the hellos on both sides, never a hang or a message it does not know.
final class MigrationVersionTests: XCTestCase {
    static let older = MigrationWire.version - 1

    /// An older source says hello: the destination answers with its own hello (which the older
    /// source refuses in its own words) and an abort naming both versions, and exits 1.
    func testAnOlderSourceIsRefusedAtTheHellos() throws {
        try MigrationCheck.requireKVMDevice()
        let dst = try RingsideProcess("receive", ["receive", "--listen", "127.0.0.1:0", "--headless", "--frames", "60"])
        let port = try XCTUnwrap(dst.listeningPort(), dst.transcript)
        let fd = try TCP.connect(port: port)
        defer { close(fd) }
        var hello: [UInt8] = []
        MigrationWire.encode(.hello(version: Self.older, capabilities: 0), into: &hello)
        XCTAssertTrue(TCP.sendAll(fd, hello))
        XCTAssertEqual(dst.exitStatus(timeout: 30), 1, dst.transcript)
        let why = "the source speaks protocol version \(Self.older), this destination \(MigrationWire.version): run the same Ringside on both sides"
        XCTAssertEqual(MigrationFaultTests.messages(in: TCP.readToEnd(fd, timeout: 5)),
                       [.hello(version: MigrationWire.version, capabilities: MigrationWire.knownCapabilities), .abort(why)])
        XCTAssertEqual(dst.err, "ringside: migration failed, nothing was kept: refused: \(why)\n")
    }

    /// An older destination answers the hello with its version: the source refuses it in one
    /// line at once and the guest runs on to its last frame.
    func testAnOlderDestinationIsRefusedAtTheHellos() throws {
        try MigrationCheck.requireKVMDevice()
        let (listener, port) = try TCP.listen()
        let answered = DispatchSemaphore(value: 0)
        Thread {
            defer { close(listener); answered.signal() }
            let fd = accept(listener, nil, nil)
            guard fd >= 0 else { return }
            defer { close(fd) }
            guard case .hello? = FakeDestination.readMessage(fd) else { return }
            var out: [UInt8] = []
            MigrationWire.encode(.hello(version: Self.older, capabilities: 0), into: &out)
            TCP.sendAll(fd, out)
            _ = TCP.readToEnd(fd, timeout: 10) // as a version 3 destination, it waits for the config
        }.start()
        let src = try RingsideProcess("run", ["run", "--guest", "desktop", "--headless", "--width", "320", "--height", "200", "--memory", "32M",
                                              "--frames", "120", "--migrate-to", "127.0.0.1:\(port)", "--migrate-after", "0.2"])
        XCTAssertEqual(src.exitStatus(timeout: 60), 0, src.transcript)
        XCTAssertEqual(answered.wait(timeout: .now() + 30), .success)
        XCTAssertEqual(src.err, "ringside: migration to 127.0.0.1:\(port) failed, the guest keeps running here: refused: the destination speaks "
            + "protocol version \(Self.older), this source \(MigrationWire.version): run the same Ringside on both sides\n")
        XCTAssertTrue(src.out.contains(", 120 frames\n"), src.out)
    }
}
