import Foundation
import TestSupport
import XCTest

/// Auto-converge end to end: a guest that dirties pages faster than the link takes them
/// (pagewriter, 32 pseudo-random pages a frame at 60 Hz: about 1900 pages/s, against 4 MiB/s
/// uncompressed: 1024 pages/s) is slowed step by step until the pre-copy converges, and its pace
/// is restored when the attempt ends, handed over or abandoned. With `--auto-converge off` the
/// same migration never converges.
final class AutoConvergeCLITests: XCTestCase {
    func receive(_ extra: [String] = []) throws -> RingsideProcess {
        try RingsideProcess("receive", ["receive", "--listen", "127.0.0.1:0", "--headless"] + extra)
    }

    func source(port: Int, _ extra: [String]) throws -> RingsideProcess {
        try RingsideProcess("run", ["run", "--guest", "pagewriter", "--args", "pages=32", "--headless", "--memory", "32M",
                                    "--migrate-to", "127.0.0.1:\(port)", "--migrate-after", "0.5", "--max-bandwidth", "4M",
                                    "--migrate-compress", "off", "--stats"] + extra)
    }

    /// The percent of each "migration auto-converge: the guest slowed by N%" line, in order.
    static func steps(_ out: String) -> [Int] {
        out.split(separator: "\n").compactMap { line -> Int? in
            guard line.hasPrefix("migration auto-converge: the guest slowed by ") else { return nil }
            return Int(line.dropFirst("migration auto-converge: the guest slowed by ".count).prefix { $0.isNumber })
        }
    }

    static let restored = "migration auto-converge: the guest's pace restored"

    func testAGuestOutrunningTheLinkIsSlowedStepByStepUntilItConverges() throws {
        try MigrationCheck.requireKVMDevice()
        let dst = try receive()
        let port = try XCTUnwrap(dst.listeningPort(), dst.transcript)
        let src = try source(port: port, ["--max-rounds", "80", "--verify-migration"])
        XCTAssertEqual(src.exitStatus(timeout: 600), 0, src.transcript + dst.transcript)
        XCTAssertTrue(dst.waitForOutput("migration received from 127.0.0.1:", timeout: 60), dst.transcript)
        dst.signal(SIGTERM)
        XCTAssertEqual(dst.exitStatus(timeout: 60), 0, dst.transcript)
        XCTAssertEqual(src.err, "", src.transcript)
        XCTAssertTrue(src.out.contains("migrated to 127.0.0.1:\(port): "), src.transcript)
        XCTAssertTrue(dst.out.contains(" pages verified"), dst.transcript)
        let steps = Self.steps(src.out)
        XCTAssertEqual(steps.first, 20, "the first step slows the guest by 20%: \(src.out)")
        XCTAssertEqual(steps, steps.sorted(), "each step slows it more")
        XCTAssertEqual(Set(steps).count, steps.count, "one line a step")
        XCTAssertTrue(src.out.contains(Self.restored + " (it was slowed by \(steps.last ?? 0)%)\n"), src.out)
    }

    func testWithAutoConvergeOffTheSameMigrationIsAbandoned() throws {
        try MigrationCheck.requireKVMDevice()
        let dst = try receive()
        let port = try XCTUnwrap(dst.listeningPort(), dst.transcript)
        let src = try source(port: port, ["--max-rounds", "6", "--auto-converge", "off"])
        _ = poll(timeout: 600, every: 0.05) { src.err.contains("\n") || !src.isRunning }
        XCTAssertTrue(src.isRunning, "the guest runs on here\n\(src.transcript)")
        XCTAssertTrue(src.err.hasPrefix("ringside: migration to 127.0.0.1:\(port) failed, the guest keeps running here: did not converge in 6 rounds"),
                      src.transcript + dst.transcript)
        XCTAssertEqual(Self.steps(src.out), [], src.out)
        XCTAssertFalse(src.out.contains(Self.restored), src.out)
        src.signal(SIGTERM)
        XCTAssertEqual(src.exitStatus(timeout: 60), 0, src.transcript)
        XCTAssertEqual(dst.exitStatus(timeout: 60), 1, dst.transcript)
    }

    /// Abandoned after the guest was slowed: the pace comes back, and the guest runs on here.
    func testTheGuestsPaceIsRestoredWhenASlowedAttemptIsAbandoned() throws {
        try MigrationCheck.requireKVMDevice()
        let dst = try receive()
        let port = try XCTUnwrap(dst.listeningPort(), dst.transcript)
        let src = try source(port: port, ["--max-rounds", "4"])
        _ = poll(timeout: 600, every: 0.05) { src.err.contains("\n") || !src.isRunning }
        XCTAssertTrue(src.isRunning, "the guest runs on here\n\(src.transcript)")
        XCTAssertTrue(src.err.contains("did not converge in 4 rounds"), src.transcript + dst.transcript)
        XCTAssertTrue(src.waitForOutput(Self.restored, timeout: 60), src.transcript)
        XCTAssertEqual(Self.steps(src.out).first, 20, src.out)
        src.signal(SIGTERM)
        XCTAssertEqual(src.exitStatus(timeout: 60), 0, src.transcript)
        XCTAssertEqual(dst.exitStatus(timeout: 60), 1, dst.transcript)
    }
}
