import Foundation
import KVM
import Machine
import MigrationWire
import TestSupport
import XCTest

/// Live migration when something goes wrong: the side that survives must say so in one
/// line and carry on (the source) or end with status 1 and keep nothing (the destination).
final class MigrationFaultTests: XCTestCase {
    static let width = 320, height = 200

    func receive(_ extra: [String] = [], label: String = "receive", listen: String = "127.0.0.1:0", frames: Int = 120,
                 pngDir: String? = nil) throws -> RingsideProcess {
        try RingsideProcess(label, ["receive", "--listen", listen, "--headless", "--frames", "\(frames)"] + (pngDir.map { ["--png", $0] } ?? []) + extra)
    }

    /// A source that migrates at its frame 30 and writes every frame it draws into `pngDir`;
    /// it runs until it hands the guest over or is stopped.
    func source(port: Int, memory: String = "32M", pngDir: String) throws -> RingsideProcess {
        try RingsideProcess("run", ["run", "--guest", "desktop", "--headless", "--width", "\(Self.width)", "--height", "\(Self.height)",
                                    "--memory", memory, "--png", pngDir, "--png-every", "1",
                                    "--migrate-to", "127.0.0.1:\(port)", "--migrate-at-frame", "30"])
    }

    /// The source failed once and said so in exactly one line; it drew frames after that
    /// (it is then stopped with SIGTERM), each the very picture of an unmigrated run. Returns
    /// its failure line.
    @discardableResult
    func assertSourceKeptRunning(_ src: RingsideProcess, port: Int, pngDir: String, memory: String = "32M", naming: String,
                                 file: StaticString = #filePath, line: UInt = #line) -> String {
        let prefix = "ringside: migration to 127.0.0.1:\(port) failed, the guest keeps running here: "
        XCTAssertTrue(poll(timeout: 120) { src.err.contains("\n") || !src.isRunning }, src.transcript, file: file, line: line)
        let failure = src.err.split(separator: "\n").first.map { String($0) + "\n" } ?? ""
        // Frames drawn after the failure line: the guest keeps running here.
        let drawnBefore = MigrationCheck.pngFiles(pngDir).compactMap(MigrationCheck.frame(ofFile:)).max() ?? 0
        let files = src.stopAfterDrawing(filesIn: pngDir, after: drawnBefore + 1)
        XCTAssertEqual(src.exitStatus(), 0, src.transcript, file: file, line: line)
        XCTAssertTrue(failure.hasPrefix(prefix) && failure.contains(naming), "the source says why: \(src.err)", file: file, line: line)
        XCTAssertEqual(src.err, failure + RingsideProcess.sigtermLine, "one line, then the stop: \(src.err)", file: file, line: line)
        XCTAssertFalse(src.out.contains("migrated to"), src.transcript, file: file, line: line)
        XCTAssertGreaterThan(files.compactMap(MigrationCheck.frame(ofFile:)).max() ?? 0, drawnBefore + 1,
                             "the guest ran on here after the failure", file: file, line: line)
        XCTAssertNil(MigrationCheck.compareWithUnmigrated(files, in: pngDir, guest: "desktop", width: Self.width, height: Self.height,
                                                          memory: memory, refDir: pngDir + "-ref"), file: file, line: line)
        return failure
    }

    /// The destination ended with status 1, one line naming `naming`, and wrote no picture.
    func assertDestinationGaveUp(_ dst: RingsideProcess, pngDir: String?, naming: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(dst.exitStatus(), 1, dst.transcript, file: file, line: line)
        if let problem = MigrationCheck.oneLineProblem(dst.err, containing: naming) { XCTFail(problem, file: file, line: line) }
        XCTAssertTrue(dst.err.hasPrefix("ringside: migration failed, nothing was kept: "), dst.err, file: file, line: line)
        if let pngDir { XCTAssertEqual(MigrationCheck.pngFiles(pngDir), [], "no picture at the destination", file: file, line: line) }
    }

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

    // MARK: - (d) the source dies mid-stream

    func testTheSourceKilledMidStreamLeavesNothingAtTheDestination() throws {
        try MigrationCheck.requireKVMDevice()
        let dir = try MigrationCheck.tempDir(self, "killsrc")
        let dst = try receive(pngDir: dir + "/dst")
        let port = try XCTUnwrap(dst.listeningPort(), dst.transcript)
        let src = try RingsideProcess("run", ["run", "--guest", "desktop", "--headless", "--width", "640", "--height", "400", "--memory", "64M",
                                              "--migrate-to", "127.0.0.1:\(port)", "--migrate-after", "0.5", "--max-bandwidth", "1M"])
        // Round 0 takes about a second at 1 MiB/s: the stream is under way once this line is out.
        XCTAssertTrue(dst.waitForOutput("migration from "), dst.transcript + src.transcript)
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
        let dst = try receive(pngDir: dir + "/dst")
        let port = try XCTUnwrap(dst.listeningPort(), dst.transcript)
        // At 1 MiB/s the 1280x800 screen alone takes 4 s a round, and the desktop never converges.
        let src = try RingsideProcess("run", ["run", "--guest", "desktop", "--headless", "--width", "1280", "--height", "800", "--memory", "64M",
                                              "--migrate-to", "127.0.0.1:\(port)", "--migrate-after", "0.5", "--max-bandwidth", "1M"])
        XCTAssertTrue(dst.waitForOutput("migration from "), dst.transcript + src.transcript)
        src.signal(SIGTERM)
        XCTAssertEqual(src.exitStatus(), 0, src.transcript)
        XCTAssertEqual(src.err, "ringside: SIGTERM received: stopping the guest (a second signal exits at once)\n"
            + "ringside: migration to 127.0.0.1:\(port) abandoned: the guest was stopped at the source before the hand-over\n")
        XCTAssertFalse(src.out.contains("migrated to"), src.transcript)
        XCTAssertTrue(src.out.contains("guest frames/s: "), "the summary is printed: \(src.out)")
        assertDestinationGaveUp(dst, pngDir: dir + "/dst",
                                naming: ["the other side abandoned the migration: the guest was stopped at the source before the hand-over"])
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

    /// The connection fails after the commit: the source cannot know whether the guest runs
    /// at the destination, so it must not resume it; it stops, says so in one line, and the
    /// status is 1.
    func testAConnectionLostAfterTheCommitStopsTheSourceWithStatus1() throws {
        try MigrationCheck.requireKVMDevice()
        let dir = try MigrationCheck.tempDir(self, "aftercommit")
        let fake = try FakeDestination(.closeAfterCommit)
        let src = try source(port: fake.port, pngDir: dir + "/src")
        XCTAssertTrue(fake.wait(timeout: 300))
        XCTAssertEqual(fake.seen.last, "commit")
        XCTAssertEqual(src.exitStatus(), 1, src.transcript)
        XCTAssertTrue(src.err.hasPrefix("ringside: migration to 127.0.0.1:\(fake.port): the connection failed after the source committed"), src.err)
        XCTAssertTrue(src.err.hasSuffix("the guest is stopped here and may be running at the destination\n"), src.err)
        XCTAssertEqual(src.err.filter { $0 == "\n" }.count, 1, src.err)
        // A source with no frame limit ends by itself, with status 1: it did not resume the guest.
        XCTAssertFalse(src.out.contains("migrated to"), src.out)
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

    // MARK: - (e) not a migration stream at all

    func testGarbageOnThePortEndsTheDestinationWithOneLine() throws {
        try MigrationCheck.requireKVMDevice()
        var rng = SplitMix(seed: 0x5EED)
        let random = (0..<65536).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        var badMagic: [UInt8] = []
        MigrationWire.encode(.hello(version: 1, capabilities: 0), into: &badMagic)
        badMagic[5] = UInt8(ascii: "X") // "XSMIG"
        var unknownType: [UInt8] = [5, 0, 0, 0, 0xEE, 1, 2, 3, 4]
        unknownType += [0, 0, 0, 0] // and a trailing partial header
        let payloads: [(String, [UInt8], String)] = [
            ("random bytes", random, "malformed migration stream: a frame of "),
            ("an HTTP request", Array("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: */*\r\n\r\n".utf8), "malformed migration stream: not a Ringside migration stream (it starts with \"GET \")"),
            ("a hello with a bad magic", badMagic, "not a Ringside migration stream (bad magic)"),
            ("an unknown message type", unknownType, "malformed migration stream: unknown message type 238"),
        ]
        let problems = inParallel(width: 2, payloads.map { name, bytes, expected in { self.sendRaw(name, [bytes], expecting: expected) } })
        for p in problems.compactMap({ $0 }) { XCTFail(p) }
    }

    /// Connects to a fresh `receive`, sends `chunks`, and checks it ends with status 1 and one
    /// line containing `expected` (and, unless the stream never got past hello, an abort).
    func sendRaw(_ name: String, _ chunks: [[UInt8]], expecting expected: String, abort: Bool = false, receiveOptions: [String] = [],
                 timeout: Double = 120) -> String? {
        do {
            let dst = try receive(receiveOptions)
            guard let port = dst.listeningPort() else { return "\(name): no listening port\n\(dst.transcript)" }
            let fd = try TCP.connect(port: port)
            defer { close(fd) }
            for c in chunks where !TCP.sendAll(fd, c) { break } // the destination may hang up early
            let status = dst.exitStatus(timeout: timeout)
            let replies = Self.messages(in: TCP.readToEnd(fd, timeout: 1))
            if abort {
                guard case .abort(let why)? = replies.last, why.contains(expected) else {
                    return "\(name): the destination's last message is not an abort naming \(expected.debugDescription): \(replies)"
                }
            }
            if status != 1 { return "\(name): status \(String(describing: status)), not 1\n\(dst.transcript)" }
            if let p = MigrationCheck.oneLineProblem(dst.err, containing: [expected]) { return "\(name): \(p)" }
            if !dst.err.hasPrefix("ringside: migration failed, nothing was kept: ") { return "\(name): \(dst.err)" }
            return nil
        } catch {
            return "\(name): \(error)"
        }
    }

    /// A source that says hello and then nothing: the destination gives up after --timeout
    /// and says that nothing arrived, not that the source hung up.
    func testASourceThatGoesQuietTimesOut() throws {
        try MigrationCheck.requireKVMDevice()
        var hello: [UInt8] = []
        MigrationWire.encode(.hello(version: MigrationWire.version, capabilities: 0), into: &hello)
        if let p = sendRaw("a quiet source", [hello], expecting: "connection lost: nothing arrived from 127.0.0.1:", receiveOptions: ["--timeout", "1"]) {
            XCTFail(p)
        }
    }

    /// The whole messages in `bytes`.
    static func messages(in bytes: [UInt8]) -> [MigrationMessage] {
        var out: [MigrationMessage] = []
        var at = 0
        while at + 4 <= bytes.count, let n = try? MigrationWire.frameLength(bytes[at..<at + 4]), at + 4 + n <= bytes.count,
              let m = try? MigrationWire.decode(Array(bytes[at + 4..<at + 4 + n])) {
            out.append(m)
            at += 4 + n
        }
        return out
    }

    // MARK: - (f) a well-formed stream that lies

    /// A valid hello and config for a 320x200 desktop with 32 MiB of RAM, changed by `change`.
    func preamble(_ change: (inout MigrationConfig) -> Void = { _ in }) throws -> [UInt8] {
        let image = try XCTUnwrap(FileManager.default.contents(atPath: try builtInGuest("desktop").path))
        let bytes = [UInt8](image)
        var config = MigrationConfig(
            imageName: "desktop", image: bytes, imageDigest: bytes.withUnsafeBytes { PageDigest.of($0) }, arguments: "", ramBytes: 32 << 20,
            cpus: 1, width: UInt32(Self.width), height: UInt32(Self.height), pitch: UInt32(Self.width * 4), guestHz: 60, tracking: "ring",
            ringEntries: 4096, tileWidth: 64, tileHeight: 16, verify: false)
        change(&config)
        var out: [UInt8] = []
        MigrationWire.encode(.hello(version: MigrationWire.version, capabilities: 0), into: &out)
        MigrationWire.encode(.config(config), into: &out)
        return out
    }

    /// A config the destination cannot or must not build is refused in one line, and the
    /// source is told (an abort before anything else is sent).
    func testAConfigThatLiesIsRefused() throws {
        try MigrationCheck.requireKVMDevice()
        let garbage = [UInt8](repeating: 0x7F, count: 4096)
        let cases: [(String, (inout MigrationConfig) -> Void, String)] = [
            ("a width whose pitch overflows", { $0.width = 0x4000_0000; $0.pitch = 0 }, "resolution 1073741824x200 is out of range"),
            ("no vCPUs", { $0.cpus = 0 }, "--cpus 0 is out of range"),
            ("more vCPUs than KVM allows", { $0.cpus = 4096 }, "--cpus 4096 is out of range"),
            ("a terabyte of RAM", { $0.ramBytes = 1 << 40 }, "guest memory 1099511627776 bytes is out of range"),
            ("a pacing rate that is not a number", { $0.guestHz = .nan }, "--guest-hz nan is out of range"),
            ("an image that does not match its digest", { $0.image[100] ^= 0xFF }, "the guest image's digest does not match its bytes"),
            ("an image that is not ELF", { $0.image = garbage; $0.imageDigest = garbage.withUnsafeBytes { PageDigest.of($0) } },
             "is not a guest image: it is not an ELF file"),
        ]
        let problems = inParallel(width: 2, try cases.map { name, change, expected in
            let stream = try preamble(change)
            return { self.sendRaw(name, [stream], expecting: expected, abort: true) }
        })
        for p in problems.compactMap({ $0 }) { XCTFail(p) }
    }

    func testAStreamThatNamesWhatDoesNotExistIsRefused() throws {
        try MigrationCheck.requireKVMDevice()
        let system = try requireKVM()
        // A real vCPU state, so the first copy loads and only the second is wrong.
        let machine = try Machine(system: system, config: try testConfig("desktop", ramMiB: 32))
        let state = try machine.vcpu(0).saveState().encode()
        let ramPages = UInt64(32 << 20) / 4096
        let page = [UInt8](repeating: 0xA5, count: MigrationWire.pageSize)
        func stream(_ messages: [MigrationMessage]) throws -> [[UInt8]] {
            var out: [UInt8] = []
            for m in messages { MigrationWire.encode(m, into: &out) }
            return [try preamble(), out]
        }
        let cases: [(String, [[UInt8]], String)] = [
            ("a page past the end of RAM", try stream([.pages(slot: GuestLayout.ramSlot, [PageRecord(page: 7, data: page), PageRecord(page: ramPages, data: page)])]),
             "protocol error: page \(ramPages) is outside slot \(GuestLayout.ramSlot) ("),
            ("the last possible page number", try stream([.pages(slot: GuestLayout.ramSlot, [PageRecord(page: .max, data: nil)])]),
             "protocol error: page \(UInt64.max) is outside slot \(GuestLayout.ramSlot) ("),
            ("a slot that does not exist", try stream([.pages(slot: 77, [PageRecord(page: 0, data: page)])]),
             "protocol error: pages for slot 77, which this machine does not have"),
            ("a duplicate vCPU state", try stream([.vcpuState(index: 0, state: state), .vcpuState(index: 0, state: state)]),
             "protocol error: a second state for vCPU 0"),
            ("a vCPU the machine does not have", try stream([.vcpuState(index: 1, state: state)]),
             "protocol error: state for vCPU 1, but the machine has 1"),
            ("a vCPU state that is not one", try stream([.vcpuState(index: 0, state: Array(state.prefix(40)))]),
             "protocol error: vCPU 0's state: "),
            ("frame counters for vCPUs the machine does not have", try stream([.deviceState(DeviceState(frames: [5, 5, 5], uptimeNanos: 0))]),
             "protocol error: 3 frame counters for 1 vCPUs"),
            ("a waiting input event that is not one", try stream([.deviceState(DeviceState(frames: [5], uptimeNanos: 0, waitingInput: [
                WaitingInputEvent(type: 1, code: 30, value: 1, x: 0, y: 0), WaitingInputEvent(type: 99, code: 0, value: 0, x: 0, y: 0)]))]),
             "protocol error: waiting input event 1 is not an event (type 99, code 0, value 0)"),
            ("a round with the wrong page count", try stream([.pages(slot: GuestLayout.ramSlot, [PageRecord(page: 7, data: page)]), .roundEnd(round: 0, pages: 2)]),
             "protocol error: round 0 claims 2 pages but 1 arrived"),
            ("complete without vCPU states", try stream([.deviceState(DeviceState(frames: [5], uptimeNanos: 0)), .complete]),
             "protocol error: complete with 0 of 1 vCPU states"),
            ("a digest that does not match", try stream([.pages(slot: GuestLayout.ramSlot, [PageRecord(page: 7, data: page)]),
                                                          .digests(slot: GuestLayout.ramSlot, [PageDigestRecord(page: 7, digest: 0)])]),
             "page 7 differs from the source's"),
        ]
        let problems = inParallel(width: 2, cases.map { name, chunks, expected in { self.sendRaw(name, chunks, expecting: expected, abort: true) } })
        for p in problems.compactMap({ $0 }) { XCTFail(p) }
    }
}

