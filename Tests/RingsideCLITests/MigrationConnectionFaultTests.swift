import Foundation
import KVM
import Machine
import MigrationWire
import TestSupport
import XCTest

/// Live migration when the connection fails: the destination dies or is not there, the stream is
/// cut mid-message. The source says so in one line and keeps its guest; a retry can succeed.
final class MigrationConnectionFaultTests: XCTestCase, MigrationFaultFixtures {
    // MARK: - (a) the destination dies; a second attempt goes to a new one

    func testTheDestinationKilledMidStreamLeavesTheGuestRunningAndTheRetrySucceeds() throws {
        try MigrationCheck.requireKVMDevice()
        let dir = try MigrationCheck.tempDir(self, "killdst")
        let first = try receive(label: "first receive", pngDir: dir + "/first")
        let firstPort = try XCTUnwrap(first.listeningPort(), first.transcript)
        let second = try RingsideProcess("second receive", ["receive", "--listen", "127.0.0.1:0", "--headless", "--png", dir + "/second",
                                                            "--png-every", "1"])
        let secondPort = try XCTUnwrap(second.listeningPort(), second.transcript)
        // The source's address: the first attempt reaches the first destination and stalls
        // 200 kB in (inside round 0); the retry reaches the second.
        let proxy = try FailoverProxy(first: firstPort, then: secondPort, stallAfter: 200_000)
        let port = proxy.port
        let src = try RingsideProcess("run", ["run", "--guest", "desktop", "--headless", "--width", "640", "--height", "400", "--memory", "64M",
                                              "--migrate-to", "127.0.0.1:\(port)", "--migrate-after", "0", "--migrate-attempts", "2",
                                              "--verify-migration"])
        XCTAssertTrue(first.waitForOutput("migration from "), first.transcript + src.transcript)
        XCTAssertTrue(poll(timeout: 120) { proxy.stalled }, "the first stream stalled mid-round")
        XCTAssertFalse(first.out.contains("migration round 0:"), "still in round 0: \(first.transcript)")
        first.signal(SIGKILL)
        XCTAssertEqual(first.exitStatus(), SIGKILL)
        XCTAssertEqual(first.process.terminationReason, .uncaughtSignal)

        XCTAssertEqual(src.exitStatus(), 0, src.transcript + second.transcript)
        let files = second.stopAfterDrawing(filesIn: dir + "/second")
        XCTAssertEqual(second.exitStatus(), 0, src.transcript + second.transcript)
        let failed = "ringside: migration to 127.0.0.1:\(port) failed, the guest keeps running here: connection lost: "
        XCTAssertTrue(src.err.hasPrefix(failed), src.err)
        XCTAssertEqual(src.err.filter { $0 == "\n" }.count, 1, "one line for the failed attempt: \(src.err)")
        let attempts = src.out.split(separator: "\n").filter { $0.hasPrefix("migrating to ") }
        XCTAssertEqual(attempts, ["migrating to 127.0.0.1:\(port) (attempt 1 of 2)", "migrating to 127.0.0.1:\(port) (attempt 2 of 2)"], src.out)
        XCTAssertTrue(src.out.contains("migrated to 127.0.0.1:\(port): "), src.transcript)
        XCTAssertTrue(second.out.contains(" pages verified"), second.transcript)
        XCTAssertEqual(MigrationCheck.pngFiles(dir + "/first"), [])
        XCTAssertFalse(files.isEmpty, "the second destination drew a frame\n\(second.transcript)")
        XCTAssertNil(MigrationCheck.compareWithUnmigrated(files, in: dir + "/second", guest: "desktop", width: 640, height: 400,
                                                          memory: "64M", refDir: dir + "/ref"))
    }

    // MARK: - (b) the connection is cut mid-message

    func testAConnectionCutMidMessageLeavesTheGuestRunningAtTheSource() throws {
        try MigrationCheck.requireKVMDevice()
        let dir = try MigrationCheck.tempDir(self, "cut")
        // Where the stream is cut: inside the config (which carries the 36 KiB image), and
        // inside the first pages message (81 pages of about 4 KiB).
        let image = try XCTUnwrap(FileManager.default.contents(atPath: try builtInGuest("desktop").path))
        let hello = 16
        let cuts = [("config", hello + 4 + 1 + 4 + 7 + 4 + image.count / 2),
                    ("pages", hello + 4 + 1 + 4 + 7 + 4 + image.count + 200 + 40 * 4105 + 1000)]
        let problems = inParallel(width: 2, cuts.map { name, cutAfter in { () -> [String] in
            var problems: [String] = []
            do {
                let dst = try self.receive(pngDir: dir + "/\(name)-dst")
                guard let port = dst.listeningPort() else { return ["\(name): no listening port\n\(dst.transcript)"] }
                let proxy = try CuttingProxy(upstream: port, cutAfter: cutAfter)
                let src = try self.source(port: proxy.port, pngDir: dir + "/\(name)-src")
                if !proxy.wait(timeout: 300) { problems.append("\(name): the proxy never finished") }
                if !proxy.cut { problems.append("\(name): the source sent only \(proxy.forwarded) bytes, fewer than \(cutAfter)") }
                return problems + self.cutChecks(name, src, dst, proxyPort: proxy.port, dir: dir)
            } catch {
                return ["\(name): \(error)"]
            }
        } })
        for p in problems.joined() { XCTFail(p) }
    }

    /// The checks of one cut, as messages (they run on a worker thread).
    private func cutChecks(_ name: String, _ src: RingsideProcess, _ dst: RingsideProcess, proxyPort: Int, dir: String) -> [String] {
        var problems: [String] = []
        let dstStatus = dst.exitStatus()
        let failed = "ringside: migration to 127.0.0.1:\(proxyPort) failed, the guest keeps running here: "
        _ = poll(timeout: 120) { src.err.contains("\n") || !src.isRunning }
        let failure = src.err.split(separator: "\n").first.map { String($0) + "\n" } ?? ""
        let pngDir = dir + "/\(name)-src"
        let drawnBefore = MigrationCheck.pngFiles(pngDir).compactMap(MigrationCheck.frame(ofFile:)).max() ?? 0
        let files = src.stopAfterDrawing(filesIn: pngDir, after: drawnBefore + 1)
        let srcStatus = src.exitStatus()
        let transcript = src.transcript + dst.transcript
        if srcStatus != 0 { problems.append("\(name): source status \(String(describing: srcStatus))\n\(transcript)") }
        if dstStatus != 1 { problems.append("\(name): destination status \(String(describing: dstStatus))\n\(transcript)") }
        if !failure.hasPrefix(failed) || src.err != failure + RingsideProcess.sigtermLine {
            problems.append("\(name): the source's stderr: \(src.err.debugDescription)")
        }
        if src.out.contains("migrated to") || (files.compactMap(MigrationCheck.frame(ofFile:)).max() ?? 0) <= drawnBefore + 1 {
            problems.append("\(name): the source did not run on\n\(transcript)")
        }
        if let p = MigrationCheck.oneLineProblem(dst.err, containing: ["migration failed, nothing was kept: connection lost: "]) {
            problems.append("\(name): destination: \(p)")
        }
        if !MigrationCheck.pngFiles(dir + "/\(name)-dst").isEmpty { problems.append("\(name): the destination wrote a picture") }
        if let bad = MigrationCheck.compareWithUnmigrated(files, in: pngDir, guest: "desktop", width: Self.width, height: Self.height,
                                                          memory: "32M", refDir: dir + "/\(name)-ref") {
            problems.append("\(name): the source's pictures: \(bad)")
        }
        return problems
    }

    // MARK: - nobody at the destination

    /// The most common fault: nothing listens there. The line says so in words, not NIO's.
    func testNoDestinationListeningLeavesTheGuestRunning() throws {
        try MigrationCheck.requireKVMDevice()
        let dir = try MigrationCheck.tempDir(self, "refused")
        let (fd, port) = try TCP.refusingPort() // a port nothing listens on
        defer { close(fd) }
        let src = try source(port: port, pngDir: dir + "/src")
        let failure = assertSourceKeptRunning(src, port: port, pngDir: dir + "/src", naming: "cannot connect to 127.0.0.1:\(port): Connection refused")
        XCTAssertEqual(failure, "ringside: migration to 127.0.0.1:\(port) failed, the guest keeps running here: cannot connect to 127.0.0.1:\(port): Connection refused\n")
    }

    /// A port that is taken: one plain line, and no claim that a migration was under way.
    func testReceiveOnAPortInUseSaysSo() throws {
        try MigrationCheck.requireKVMDevice()
        let (fd, port) = try TCP.listen()
        defer { close(fd) }
        let r = try runRingside(["receive", "--listen", "127.0.0.1:\(port)", "--headless"])
        XCTAssertEqual(r.status, 1, r.out + r.err)
        XCTAssertEqual(r.err, "ringside: cannot listen on 127.0.0.1:\(port): Address already in use\n")
        XCTAssertEqual(r.out, "")
    }
}
