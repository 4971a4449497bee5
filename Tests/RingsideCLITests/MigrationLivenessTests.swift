import Foundation
import MigrationWire
import TestSupport
import XCTest

/// Live migration over connections that stay quiet, break at the commit, or carry a large
/// image: the pre-copy may last longer than the timeout, a stopped destination is noticed
/// once it goes quiet, a lost commit never loses the guest, and images up to the documented
/// limit travel.
final class MigrationLivenessTests: XCTestCase {
    static let width = 320, height = 200

    func receive(_ extra: [String] = [], frames: Int, pngDir: String? = nil) throws -> RingsideProcess {
        try RingsideProcess("receive", ["receive", "--listen", "127.0.0.1:0", "--headless", "--frames", "\(frames)"]
            + (pngDir.map { ["--png", $0] } ?? []) + extra)
    }

    /// The last PNG of an unmigrated `desktop` run at `width`x`height` equals `png`.
    func assertPicture(_ png: String, width: Int = width, height: Int = height, frames: Int, dir: String,
                       file: StaticString = #filePath, line: UInt = #line) throws {
        let reference = try MigrationCheck.reference(guest: "desktop", width: width, height: height, memory: "32M", frames: frames, dir: dir + "/ref")
        XCTAssertNotNil(reference, file: file, line: line)
        let picture = FileManager.default.contents(atPath: png + "/" + MigrationCheck.pngName(frames))
        XCTAssertTrue(picture != nil && picture == reference, "frame \(frames) in \(png) equals an unmigrated run's", file: file, line: line)
    }

    // MARK: - F1: liveness does not depend on which side is talking

    /// The destination sends nothing while pages arrive, yet a pre-copy far longer than the
    /// source's timeout completes: the healthy destination is heard from all along.
    func testAPreCopyLongerThanTheTimeoutCompletesWithAHealthyDestination() throws {
        try MigrationCheck.requireKVMDevice()
        let dir = try MigrationCheck.tempDir(self, "longprecopy")
        let frames = 900
        let dst = try receive(["--timeout", "3"], frames: frames, pngDir: dir + "/dst")
        let port = try XCTUnwrap(dst.listeningPort(), dst.transcript)
        // 1280x800 at 1 MiB/s: round 0 alone takes about 4 s, the timeout is 3 s.
        let src = try RingsideProcess("run", ["run", "--guest", "desktop", "--headless", "--width", "1280", "--height", "800", "--memory", "32M",
                                              "--migrate-to", "127.0.0.1:\(port)", "--migrate-after", "0.5", "--max-bandwidth", "1M",
                                              "--max-downtime", "10000", "--migrate-timeout", "3", "--stats"])
        XCTAssertEqual(src.exitStatus(timeout: 90), 0, src.transcript + dst.transcript)
        XCTAssertTrue(src.out.contains("migrated to 127.0.0.1:\(port): "), src.transcript + dst.transcript)
        XCTAssertEqual(src.err, "", src.transcript)
        let rounds = src.out.split(separator: "\n").filter { $0.hasPrefix("migration round ") }
        XCTAssertFalse(rounds.isEmpty, src.out)
        XCTAssertEqual(dst.exitStatus(timeout: 90), 0, dst.transcript)
        try assertPicture(dir + "/dst", width: 1280, height: 800, frames: frames, dir: dir)
    }

    /// A destination stopped with SIGSTOP in the middle of the pre-copy: the source notices
    /// once it has heard nothing for its timeout (not a timeout counted from the start), says
    /// so in one line, and the guest runs on here to its last frame.
    func testADestinationStoppedMidPreCopyIsNoticedAndTheGuestRunsOn() throws {
        try MigrationCheck.requireKVMDevice()
        let dst = try receive(frames: 2000)
        let port = try XCTUnwrap(dst.listeningPort(), dst.transcript)
        defer { dst.signal(SIGKILL) }
        // At 1 MiB/s the 1280x800 desktop never fits the default budget: the pre-copy goes on.
        let src = try RingsideProcess("run", ["run", "--guest", "desktop", "--headless", "--width", "1280", "--height", "800", "--memory", "32M",
                                              "--frames", "1200", "--migrate-to", "127.0.0.1:\(port)", "--migrate-after", "0.5",
                                              "--max-bandwidth", "1M", "--migrate-timeout", "3"])
        // Round 0 takes about 4 s: longer than the timeout, with the destination answering.
        XCTAssertTrue(dst.waitForOutput("migration round 0: ", timeout: 60), dst.transcript + src.transcript)
        XCTAssertEqual(src.err, "", "the healthy destination kept the migration going: \(src.transcript)")
        dst.signal(SIGSTOP)
        XCTAssertEqual(src.exitStatus(timeout: 90), 0, src.transcript)
        let line = "ringside: migration to 127.0.0.1:\(port) failed, the guest keeps running here: connection lost: nothing arrived from 127.0.0.1:\(port) for 3 s\n"
        XCTAssertEqual(src.err, line)
        XCTAssertTrue(src.out.contains(", 1200 frames\n"), "the guest ran to its last frame here: \(src.out)")
    }

    // MARK: - F2: a lost commit

    /// The source's commit never arrives: the destination has not started the guest and says
    /// so when the source asks again, so the source resumes it, and the destination keeps nothing.
    func testALostCommitResumesTheGuestAtTheSource() throws {
        try MigrationCheck.requireKVMDevice()
        let dir = try MigrationCheck.tempDir(self, "lostcommit")
        let frames = 240
        let dst = try receive(["--timeout", "3"], frames: frames, pngDir: dir + "/dst")
        let port = try XCTUnwrap(dst.listeningPort(), dst.transcript)
        let proxy = try CommitDroppingProxy(upstream: port, drop: .commit)
        defer { proxy.stop() }
        let src = try commitSource(port: proxy.port, frames: frames, pngDir: dir + "/src")
        XCTAssertEqual(src.exitStatus(timeout: 90), 0, src.transcript + dst.transcript)
        XCTAssertTrue(proxy.sawCommit, "the source committed")
        let failed = "ringside: migration to 127.0.0.1:\(proxy.port) failed, the guest keeps running here: "
        XCTAssertTrue(src.err.hasPrefix(failed) && src.err.contains("the destination did not start the guest"), src.err)
        XCTAssertEqual(src.err.filter { $0 == "\n" }.count, 1, src.err)
        XCTAssertFalse(src.out.contains("migrated to"), src.transcript)
        XCTAssertTrue(src.out.contains(", \(frames) frames\n"), "the guest ran on here to its last frame: \(src.out)")
        try assertPicture(dir + "/src", frames: frames, dir: dir)

        XCTAssertEqual(dst.exitStatus(timeout: 60), 1, dst.transcript)
        if let p = MigrationCheck.oneLineProblem(dst.err, containing: ["the source's commit did not arrive"]) { XCTFail(p) }
        XCTAssertTrue(dst.err.hasPrefix("ringside: migration failed, nothing was kept: "), dst.err)
        XCTAssertEqual(MigrationCheck.pngFiles(dir + "/dst"), [])
    }

    /// The commit arrives and the guest starts at the destination, but its answer is lost:
    /// the source asks again, learns that the guest runs there, and stops for good.
    func testALostAnswerToTheCommitIsAskedForAgain() throws {
        try MigrationCheck.requireKVMDevice()
        let dir = try MigrationCheck.tempDir(self, "lostanswer")
        let frames = 240
        let dst = try receive(["--timeout", "3"], frames: frames, pngDir: dir + "/dst")
        let port = try XCTUnwrap(dst.listeningPort(), dst.transcript)
        let proxy = try CommitDroppingProxy(upstream: port, drop: .answerToCommit)
        defer { proxy.stop() }
        let src = try commitSource(port: proxy.port, frames: frames, pngDir: dir + "/src")
        XCTAssertEqual(src.exitStatus(timeout: 90), 0, src.transcript + dst.transcript)
        XCTAssertTrue(proxy.sawCommit, "the source committed")
        XCTAssertTrue(src.out.contains("migrated to 127.0.0.1:\(proxy.port): "), src.transcript)
        XCTAssertEqual(src.err, "", src.transcript)
        XCTAssertGreaterThanOrEqual(proxy.connections, 2, "the source asked again on a new connection")
        XCTAssertFalse(src.out.contains(", \(frames) frames\n"), "the guest did not run on at the source: \(src.out)")

        XCTAssertEqual(dst.exitStatus(timeout: 60), 0, dst.transcript)
        XCTAssertEqual(dst.err, "", dst.transcript)
        try assertPicture(dir + "/dst", frames: frames, dir: dir)
    }

    func commitSource(port: Int, frames: Int, pngDir: String) throws -> RingsideProcess {
        try RingsideProcess("run", ["run", "--guest", "desktop", "--headless", "--width", "\(Self.width)", "--height", "\(Self.height)",
                                    "--memory", "32M", "--frames", "\(frames)", "--png", pngDir,
                                    "--migrate-to", "127.0.0.1:\(port)", "--migrate-after", "0.5", "--migrate-timeout", "3"])
    }

    // MARK: - F3: images up to the documented limit

    /// A 5 MiB guest image (desktop with bytes appended that its ELF headers never name)
    /// travels in the config and the guest carries on at the destination.
    func testAGuestImageOfFiveMiBMigrates() throws {
        try MigrationCheck.requireKVMDevice()
        let dir = try MigrationCheck.tempDir(self, "bigimage")
        var image = [UInt8](try XCTUnwrap(FileManager.default.contents(atPath: try builtInGuest("desktop").path)))
        var rng = SplitMix(seed: 0xB16)
        image += (0..<(5 << 20)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let path = dir + "/desktop-5mib.elf"
        try Data(image).write(to: URL(fileURLWithPath: path))
        let frames = 240
        let dst = try receive(frames: frames, pngDir: dir + "/dst")
        let port = try XCTUnwrap(dst.listeningPort(), dst.transcript)
        let src = try RingsideProcess("run", ["run", "--guest", path, "--headless", "--width", "\(Self.width)", "--height", "\(Self.height)",
                                              "--memory", "32M", "--migrate-to", "127.0.0.1:\(port)", "--migrate-after", "0.5"])
        XCTAssertEqual(src.exitStatus(timeout: 60), 0, src.transcript + dst.transcript)
        XCTAssertTrue(src.out.contains("migrated to 127.0.0.1:\(port): "), src.transcript + dst.transcript)
        XCTAssertEqual(dst.exitStatus(timeout: 60), 0, dst.transcript)
        XCTAssertTrue(dst.out.contains("migration from 127.0.0.1:"), dst.transcript)
        try assertPicture(dir + "/dst", frames: frames, dir: dir)
    }
}
