import Foundation
import MigrationWire
import TestSupport
import XCTest

/// A migration stream captured on the link does not start a second copy of the guest: the
/// destination chooses a nonce per connection (`challenge`) and the source binds it (`binding`)
/// before anything else, so the recorded bytes carry another destination's nonce and are
/// refused in one line with nothing started.
final class MigrationReplayTests: XCTestCase {
    static let width = 320, height = 200

    /// `run` -> recording proxy -> `receive`: a real migration of desktop at frame 30, which
    /// succeeds; returns the proxy with both directions recorded. The destination runs to frame
    /// 240: 3.5 s of the source's pacing for the hand-over, so the guest never arrives past its
    /// last frame (a destination that then ends at once may reset the connection before the
    /// proxy has relayed `started`, and the source's question finds nobody listening).
    private func recordedMigration(dir: String) throws -> RecordingProxy {
        let dst = try RingsideProcess("receive", ["receive", "--listen", "127.0.0.1:0", "--headless", "--frames", "240"])
        let port = try XCTUnwrap(dst.listeningPort(), dst.transcript)
        let proxy = try RecordingProxy(upstream: port)
        let src = try RingsideProcess("run", ["run", "--guest", "desktop", "--headless", "--width", "\(Self.width)", "--height", "\(Self.height)",
                                              "--memory", "32M", "--migrate-to", "127.0.0.1:\(proxy.port)", "--migrate-at-frame", "30"])
        XCTAssertEqual(src.exitStatus(), 0, src.transcript)
        XCTAssertTrue(src.out.contains("migrated to 127.0.0.1:\(proxy.port): "), src.transcript)
        XCTAssertEqual(dst.exitStatus(), 0, dst.transcript)
        XCTAssertTrue(proxy.wait(), "the recorded connection never ended")
        return proxy
    }

    func testACapturedStreamReplayedIntoASecondDestinationIsRefusedWithNothingStarted() throws {
        try MigrationCheck.requireKVMDevice()
        let dir = try MigrationCheck.tempDir(self, "replay")
        let recorded = try recordedMigration(dir: dir)
        let sent = MigrationFaultTests.messages(in: recorded.fromClient).filter { $0 != .heartbeat }
        XCTAssertEqual(Array(sent.map(\.name).prefix(3)), ["hello", "binding", "config"], "the source binds the nonce before its config")
        XCTAssertTrue(sent.contains { $0.name == "commit" }, "a whole migration was recorded")

        let pngDir = dir + "/second"
        let second = try RingsideProcess("second", ["receive", "--listen", "127.0.0.1:0", "--headless", "--png", pngDir])
        let port = try XCTUnwrap(second.listeningPort(), second.transcript)
        let answer = MigrationFaultTests.messages(in: try RecordingProxy.replay(recorded.fromClient, to: port)).filter { $0 != .heartbeat }
        XCTAssertEqual(second.exitStatus(), 1, second.transcript)
        if let p = MigrationCheck.oneLineProblem(second.err, containing: ["migration failed, nothing was kept: refused: the stream from 127.0.0.1:"]) {
            XCTFail(p)
        }
        XCTAssertTrue(second.err.contains("is bound to another destination's nonce: a recorded migration replayed here"), second.err)
        XCTAssertEqual(answer.map(\.name), ["hello", "challenge", "abort"], "the second destination accepted nothing")
        XCTAssertEqual(MigrationCheck.pngFiles(pngDir), [], "nothing ran at the second destination")
        XCTAssertFalse(second.out.contains("migrated from"), second.transcript)
    }

    /// Each connection gets a nonce of its own: two destinations' challenges differ, and the
    /// source sent back the one it was given.
    func testTheSourceBindsTheNonceItWasGiven() throws {
        try MigrationCheck.requireKVMDevice()
        let dir = try MigrationCheck.tempDir(self, "nonce")
        let first = try recordedMigration(dir: dir + "/a"), second = try recordedMigration(dir: dir + "/b")
        func nonces(_ p: RecordingProxy) -> (challenge: [UInt8]?, binding: [UInt8]?) {
            let c = MigrationFaultTests.messages(in: p.fromServer).compactMap { if case .challenge(let n) = $0 { return n }; return nil }.first
            let b = MigrationFaultTests.messages(in: p.fromClient).compactMap { if case .binding(let n) = $0 { return n }; return nil }.first
            return (c, b)
        }
        let (c1, b1) = nonces(first), (c2, b2) = nonces(second)
        XCTAssertNotNil(c1)
        XCTAssertEqual(c1, b1, "the first source bound its destination's nonce")
        XCTAssertEqual(c2, b2, "the second source bound its destination's nonce")
        XCTAssertNotEqual(c1, c2, "two connections, two nonces")
    }
}
