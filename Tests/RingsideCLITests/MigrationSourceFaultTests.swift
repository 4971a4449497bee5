import Foundation
import KVM
import Machine
import MigrationWire
import TestSupport
import XCTest

/// Live migration when the source cannot finish: killed or stopped mid-stream (the destination
/// keeps nothing), a guest that never converges (abandoned at --max-rounds; it runs on), and
/// options that cannot migrate at all.
final class MigrationSourceFaultTests: XCTestCase, MigrationFaultFixtures {
    // MARK: - (d) the source dies mid-stream

    func testTheSourceKilledMidStreamLeavesNothingAtTheDestination() throws {
        try MigrationCheck.requireKVMDevice()
        let dir = try MigrationCheck.tempDir(self, "killsrc")
        // Round 0 takes about a second at 1 MiB/s: the stream is under way once it has begun.
        let (src, dst, _) = try migrationUnderWay(dir, width: 640, height: 400)
        src.signal(SIGKILL)
        assertDestinationGaveUp(dst, pngDir: dir + "/dst", naming: ["connection lost: 127.0.0.1:"])
        // Killed with our replies unread, the source's kernel resets the connection; otherwise it closes it.
        XCTAssertTrue(dst.err.hasSuffix(" closed the connection\n") || dst.err.hasSuffix(" reset the connection\n"), dst.err)
    }

    // MARK: - the source is told to stop mid-stream

    /// SIGTERM stops the guest here, as it does without a migration: the migration in flight
    /// is abandoned (not finished with a guest the user stopped), and the destination keeps
    /// nothing.
    func testSIGTERMAtTheSourceMidStreamAbandonsTheMigration() throws {
        try MigrationCheck.requireKVMDevice()
        let dir = try MigrationCheck.tempDir(self, "termsrc")
        // At 1 MiB/s the 1280x800 screen alone takes 4 s a round, and the desktop never converges.
        let (src, dst, port) = try migrationUnderWay(dir, width: 1280, height: 800)
        src.signal(SIGTERM)
        XCTAssertEqual(src.exitStatus(), 0, src.transcript)
        XCTAssertEqual(src.err, "ringside: SIGTERM received: stopping the guest (a second signal exits at once)\n"
            + "ringside: migration to 127.0.0.1:\(port) abandoned: the guest was stopped at the source before the hand-over\n")
        XCTAssertFalse(src.out.contains("migrated to"), src.transcript)
        XCTAssertTrue(src.out.contains("guest frames/s: "), "the summary is printed: \(src.out)")
        assertDestinationGaveUp(dst, pngDir: dir + "/dst",
                                naming: ["the other side abandoned the migration: the guest was stopped at the source before the hand-over"])
    }

    /// A `receive` writing into `dir`/dst, and the desktop at `width`x`height` with 64 MiB
    /// migrating to it at 1 MiB/s from half a second on; returns once the destination says the
    /// migration has begun.
    private func migrationUnderWay(_ dir: String, width: Int, height: Int) throws -> (src: RingsideProcess, dst: RingsideProcess, port: Int) {
        let dst = try receive(pngDir: dir + "/dst")
        let port = try XCTUnwrap(dst.listeningPort(), dst.transcript)
        let src = try RingsideProcess("run", ["run", "--guest", "desktop", "--headless", "--width", "\(width)", "--height", "\(height)",
                                              "--memory", "64M", "--migrate-to", "127.0.0.1:\(port)", "--migrate-after", "0.5", "--max-bandwidth", "1M"])
        XCTAssertTrue(dst.waitForOutput("migration from "), dst.transcript + src.transcript)
        return (src, dst, port)
    }

    // MARK: - a guest that dirties memory faster than the link

    /// `plasma` repaints its whole screen every frame; at 1 MiB/s the rest never fits a 20 ms
    /// budget. After --max-rounds the source abandons (it does not pause the guest for longer
    /// than it was told), says so in one line, and runs on; the destination keeps nothing.
    func testAGuestThatDoesNotConvergeIsAbandonedAtMaxRoundsAndKeepsRunning() throws {
        try MigrationCheck.requireKVMDevice()
        let dst = try receive()
        let port = try XCTUnwrap(dst.listeningPort(), dst.transcript)
        let dir = try MigrationCheck.tempDir(self, "noconverge")
        let src = try RingsideProcess("run", ["run", "--guest", "plasma", "--headless", "--width", "\(Self.width)", "--height", "\(Self.height)",
                                              "--memory", "32M", "--png", dir, "--png-every", "1", "--migrate-to", "127.0.0.1:\(port)",
                                              "--migrate-at-frame", "30", "--max-bandwidth", "1M", "--max-rounds", "2", "--max-downtime", "20",
                                              "--stats"])
        XCTAssertTrue(poll(timeout: 120) { src.err.contains("\n") || !src.isRunning }, src.transcript)
        let failure = src.err.split(separator: "\n").first.map { String($0) + "\n" } ?? ""
        let drawnBefore = MigrationCheck.pngFiles(dir).compactMap(MigrationCheck.frame(ofFile:)).max() ?? 0
        let files = src.stopAfterDrawing(filesIn: dir, after: drawnBefore + 1)
        XCTAssertEqual(src.exitStatus(), 0, src.transcript)
        let prefix = "ringside: migration to 127.0.0.1:\(port) failed, the guest keeps running here: did not converge in 2 rounds: "
        XCTAssertTrue(failure.hasPrefix(prefix) && failure.contains("over the 20 ms downtime budget"), src.err)
        XCTAssertEqual(src.err, failure + RingsideProcess.sigtermLine, "one line, then the stop: \(src.err)")
        XCTAssertTrue(src.out.contains("migration round 1: "), "the rounds were reported (--stats): \(src.out)")
        XCTAssertFalse(src.out.contains("migration round 2: "), "no round past --max-rounds: \(src.out)")
        XCTAssertFalse(src.out.contains("migrated to"), src.transcript)
        XCTAssertGreaterThan(files.compactMap(MigrationCheck.frame(ofFile:)).max() ?? 0, drawnBefore + 1, "the guest ran on here: \(src.out)")
        assertDestinationGaveUp(dst, pngDir: nil, naming: ["the other side abandoned the migration: did not converge in 2 rounds"])
    }

    // MARK: - options that cannot migrate

    /// --tracking full and compare log no dirty pages, so there is nothing to pre-copy from:
    /// refused before the guest starts, not after connecting to the destination.
    func testMigratingWithoutAPageListIsAUsageError() throws {
        try MigrationCheck.requireKVMDevice()
        for mode in ["full", "compare"] {
            let r = try runRingside(["run", "--guest", "desktop", "--headless", "--width", "64", "--height", "64", "--frames", "5",
                                     "--tracking", mode, "--migrate-to", "127.0.0.1:9"])
            XCTAssertEqual(r.status, 1, r.out + r.err)
            XCTAssertEqual(r.err, "ringside: --migrate-to needs --tracking ring or bitmap: --tracking \(mode) logs no dirty pages to pre-copy from\n")
            XCTAssertEqual(r.out, "", "the guest never started")
        }
    }
}
