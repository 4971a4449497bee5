import Foundation
import KVM
import Machine
import MigrationWire
import TestSupport
import XCTest

/// Live migration when the destination refuses or backs out: too big a guest, an abort in the
/// pre-copy or after the pause (the source resumes its guest), and a connection lost after the
/// commit (the source must not resume it).
final class MigrationRefusalTests: XCTestCase, MigrationFaultFixtures {
    // MARK: - (c) the destination refuses the guest's size

    func testADestinationWithAMemoryLimitRefusesABiggerGuest() throws {
        try MigrationCheck.requireKVMDevice()
        let dir = try MigrationCheck.tempDir(self, "limit")
        let dst = try receive(["--memory-limit", "16M"], pngDir: dir + "/dst")
        let port = try XCTUnwrap(dst.listeningPort(), dst.transcript)
        let src = try source(port: port, memory: "64M", pngDir: dir + "/src")
        assertDestinationGaveUp(dst, pngDir: dir + "/dst", naming: ["64 MiB of RAM; this destination takes at most 16 MiB (--memory-limit)"])
        assertSourceKeptRunning(src, port: port, pngDir: dir + "/src", memory: "64M", naming: "at most 16 MiB (--memory-limit)")
    }


    // MARK: - the destination backs out after the source has paused

    /// The source has paused the guest and sent its vCPUs when the destination refuses to
    /// resume: the guest is resumed here and carries on to the same picture it would have.
    func testARefusalAfterThePauseResumesTheGuestAtTheSource() throws {
        try MigrationCheck.requireKVMDevice()
        let dir = try MigrationCheck.tempDir(self, "abortcomplete")
        let fake = try FakeDestination(.abortAtComplete("the destination ran out of disk"))
        let src = try source(port: fake.port, pngDir: dir + "/src")
        XCTAssertTrue(fake.wait(timeout: 300), "the fake destination finished")
        XCTAssertEqual(Array(fake.seen.prefix(2)), ["hello", "config"])
        XCTAssertTrue(fake.seen.contains("vcpu-state") && fake.seen.last == "complete", "the source paused and sent everything: \(fake.seen)")
        assertSourceKeptRunning(src, port: fake.port, pngDir: dir + "/src",
                                naming: "the other side abandoned the migration: the destination ran out of disk")
    }

    /// The destination aborts during the pre-copy and keeps the connection open: the source,
    /// which only sends then (or waits for the round's acknowledgement), hears the abort at
    /// once, not the timeout later, and its line gives the destination's reason.
    func testAnAbortDuringThePreCopyIsHeardAtOnce() throws {
        try MigrationCheck.requireKVMDevice()
        let dir = try MigrationCheck.tempDir(self, "abortround")
        let fake = try FakeDestination(.abortAtRoundEnd("the destination cannot write pages"))
        let src = try source(port: fake.port, pngDir: dir + "/src")
        XCTAssertTrue(fake.wait(timeout: 300), "the fake destination finished")
        XCTAssertEqual(Array(fake.seen.prefix(2)), ["hello", "config"])
        XCTAssertFalse(fake.seen.contains("vcpu-state"), "the source did not pause: \(fake.seen)")
        assertSourceKeptRunning(src, port: fake.port, pngDir: dir + "/src",
                                naming: "the other side abandoned the migration: the destination cannot write pages")
    }

    /// The connection fails after the commit and the destination is gone (nothing answers on
    /// its port when the source asks again): the source cannot know whether the guest runs
    /// there, so it must not resume it; after asking for 3 timeouts it stops, says so in one
    /// line, and the status is 1.
    func testAConnectionLostAfterTheCommitStopsTheSourceWithStatus1() throws {
        try MigrationCheck.requireKVMDevice()
        let dir = try MigrationCheck.tempDir(self, "aftercommit")
        let fake = try FakeDestination(.closeAfterCommit)
        let src = try source(port: fake.port, pngDir: dir + "/src", ["--migrate-timeout", "1"])
        XCTAssertTrue(fake.wait(timeout: 300))
        XCTAssertEqual(fake.seen.last, "commit")
        XCTAssertEqual(src.exitStatus(), 1, src.transcript)
        XCTAssertTrue(src.err.hasPrefix("ringside: migration to 127.0.0.1:\(fake.port): the connection failed after the source committed"), src.err)
        XCTAssertTrue(src.err.hasSuffix("the guest is stopped here and may be running at the destination\n"), src.err)
        XCTAssertEqual(src.err.filter { $0 == "\n" }.count, 1, src.err)
        // A source with no frame limit ends by itself, with status 1: it did not resume the guest.
        XCTAssertFalse(src.out.contains("migrated to"), src.out)
    }
}
