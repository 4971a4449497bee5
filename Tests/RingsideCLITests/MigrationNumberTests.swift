import Foundation
import MigrationWire
import TestSupport
import XCTest

/// Numbers in a well-formed stream that no Ringside source sends: each is checked before it
/// is used, so the destination refuses it in one line before the guest starts, or (for a
/// number only reported) runs the guest; it never traps.
final class MigrationNumberTests: XCTestCase {
    func receive() throws -> RingsideProcess {
        try RingsideProcess("receive", ["receive", "--listen", "127.0.0.1:0", "--headless", "--frames", "60"])
    }

    /// The messages the destination sent that a test looks at (not the keep-alives).
    func replies(_ names: [String]) -> [String] { names.filter { $0 != "heartbeat" && $0 != "round-ack" } }

    /// A frame counter of 2^63 cannot be counted on from: refused with the device state.
    func testAFrameCounterOf2To63IsRefusedBeforeTheGuestStarts() throws {
        try MigrationCheck.requireKVMDevice()
        let dst = try receive()
        let port = try XCTUnwrap(dst.listeningPort(), dst.transcript)
        let stream = try RawMigrationSource.stream { $0.frames = [1 << 63] }
        let seen = try RawMigrationSource.migrate(to: port, stream, commit: .commit(pausedNanos: 1000, sinceReadyNanos: 0))
        XCTAssertEqual(dst.exitStatus(timeout: 60), 1, dst.transcript)
        XCTAssertEqual(replies(seen), ["hello", "accepted", "abort"], dst.transcript)
        if let p = MigrationCheck.oneLineProblem(dst.err, containing: ["protocol error: vCPU 0's frame counter 9223372036854775808 is out of range"]) {
            XCTFail(p)
        }
    }

    /// The paused time in `commit` is only reported: near 2^64 it does not stop the guest,
    /// which runs at the destination to its last frame.
    func testAPausedTimeNear2To64InTheCommitStillStartsTheGuest() throws {
        try MigrationCheck.requireKVMDevice()
        let dst = try receive()
        let port = try XCTUnwrap(dst.listeningPort(), dst.transcript)
        let seen = try RawMigrationSource.migrate(to: port, try RawMigrationSource.stream(), commit: .commit(pausedNanos: UInt64.max - 5, sinceReadyNanos: UInt64.max))
        XCTAssertEqual(replies(seen), ["hello", "accepted", "ready", "started"], dst.transcript)
        XCTAssertEqual(dst.exitStatus(timeout: 60), 0, dst.transcript)
        XCTAssertEqual(dst.err, "", dst.transcript)
        XCTAssertTrue(dst.out.contains(", 60 frames\n"), dst.transcript)
    }

    /// A source whose heartbeats keep coming after the commit (its timer fires while `started`
    /// is on the way) still reads `started`: the destination reads on until the source closes
    /// instead of closing with heartbeats unread, which makes the kernel reset the connection
    /// and can throw `started` away before the source reads it.
    func testStartedSurvivesHeartbeatsSentAfterTheCommit() throws {
        try MigrationCheck.requireKVMDevice()
        let dst = try receive()
        let port = try XCTUnwrap(dst.listeningPort(), dst.transcript)
        let seen = try RawMigrationSource.migrate(to: port, try RawMigrationSource.stream(), commit: .commit(pausedNanos: 1000, sinceReadyNanos: 0),
                                                  chatterAfterCommit: 0.5)
        XCTAssertEqual(replies(seen), ["hello", "accepted", "ready", "started"], dst.transcript)
        XCTAssertEqual(dst.exitStatus(timeout: 60), 0, dst.transcript)
    }
}
