import Foundation
import TestSupport
import XCTest

/// `ringside run --control PATH` and `ringside ctl` as real processes over the real socket.
final class ControlCLITests: XCTestCase {
    override func setUpWithError() throws { try MigrationCheck.requireKVMDevice() }

    private func startRun(_ socket: String, _ extra: [String] = []) throws -> RingsideProcess {
        let p = try RingsideProcess("run", ["run", "--guest", "pattern", "--headless", "--width", "320", "--height", "200", "--memory", "16M",
                                            "--control", socket] + extra)
        try Ctl.waitForGuest(socket, p)
        return p
    }

    func testStatusPauseResumeAndQuit() throws {
        let dir = try Ctl.tempDir(self)
        let socket = dir + "/s"
        let run = try startRun(socket)
        var st = stat()
        XCTAssertEqual(lstat(socket, &st), 0)
        XCTAssertEqual(st.st_mode & 0o777, 0o600, "the socket is owner-only")

        let status = try Ctl.json(socket, ["status"])
        XCTAssertEqual(status.state, "running")
        XCTAssertEqual(status.statusObject["image"] as? String, "pattern")
        XCTAssertEqual(status.statusObject["width"] as? Int, 320)
        XCTAssertEqual(status.statusObject["height"] as? Int, 200)
        XCTAssertEqual(status.statusObject["cpus"] as? Int, 1)
        XCTAssertEqual(status.statusObject["ramBytes"] as? Int, 16 << 20)
        XCTAssertNotNil(status.statusObject["tracking"] as? String)
        XCTAssertNotNil(status.statusObject["framesPerSecond"] as? Double)
        XCTAssertNotNil(status.statusObject["uptimeSeconds"] as? Double)
        XCTAssertEqual(status.statusObject["paused"] as? Bool, false)

        let pause = try Ctl.json(socket, ["pause"])
        XCTAssertTrue(pause.ok, pause.err)
        XCTAssertEqual(pause.json["changed"] as? Bool, true)
        let frozen = try Ctl.json(socket, ["status"])
        XCTAssertEqual(frozen.state, "paused")
        usleep(300_000)
        XCTAssertEqual(try Ctl.json(socket, ["status"]).frames, frozen.frames, "a paused guest draws nothing")
        XCTAssertEqual(try Ctl.json(socket, ["pause"]).json["changed"] as? Bool, false, "pausing twice changes nothing")

        // A bad request is one line and leaves the guest alone.
        let bad = try runRingside(["ctl", socket, "migrate", "nowhere"])
        XCTAssertEqual(bad.status, 1)
        XCTAssertNil(MigrationCheck.oneLineProblem(bad.err, containing: ["HOST:PORT 'nowhere'"]))
        XCTAssertEqual(try Ctl.json(socket, ["status"]).frames, frozen.frames)

        XCTAssertTrue(try Ctl.json(socket, ["resume"]).ok)
        try Ctl.waitForStatus(socket, "the resumed guest draws") { $0.frames.first ?? 0 > frozen.frames.first ?? 0 && $0.state == "running" }

        let quit = try runRingside(["ctl", socket, "quit"])
        XCTAssertEqual(quit.status, 0, quit.err)
        XCTAssertEqual(quit.out, "the guest is stopping\n")
        XCTAssertEqual(run.exitStatus(timeout: 60), 0, run.transcript)
        XCTAssertFalse(FileManager.default.fileExists(atPath: socket), "the socket is removed at the end")
        let gone = try runRingside(["ctl", socket, "status"])
        XCTAssertEqual(gone.status, 1)
        XCTAssertNil(MigrationCheck.oneLineProblem(gone.err, containing: ["no control socket at \(socket)"]))
    }

    func testWhatIsAtThePathDecidesBeforeBoot() throws {
        let dir = try Ctl.tempDir(self)
        let file = dir + "/notes"
        FileManager.default.createFile(atPath: file, contents: Data("keep".utf8))
        let r = try runRingside(["run", "--guest", "pattern", "--headless", "--frames", "1", "--control", file])
        XCTAssertEqual(r.status, 1)
        XCTAssertNil(MigrationCheck.oneLineProblem(r.err, containing: ["--control \(file) exists and is not a socket"]))
        XCTAssertEqual(FileManager.default.contents(atPath: file), Data("keep".utf8))
        XCTAssertFalse(r.out.contains("guest frames/s"), "nothing booted")

        // A live socket is in use; once its run is killed, the stale socket is replaced.
        let socket = dir + "/s"
        let first = try startRun(socket)
        let second = try runRingside(["run", "--guest", "pattern", "--headless", "--frames", "1", "--control", socket])
        XCTAssertEqual(second.status, 1)
        XCTAssertNil(MigrationCheck.oneLineProblem(second.err, containing: ["is in use"]))
        first.signal(SIGKILL)
        _ = first.exitStatus(timeout: 30)
        XCTAssertTrue(FileManager.default.fileExists(atPath: socket), "a killed run leaves its socket")
        let third = try startRun(socket)
        XCTAssertEqual(try Ctl.json(socket, ["status"]).state, "running")
        XCTAssertEqual(try runRingside(["ctl", socket, "quit"]).status, 0)
        XCTAssertEqual(third.exitStatus(timeout: 60), 0, third.transcript)
    }

    func testMigrateCancelAndMigrateAgainThroughCtl() throws {
        let dir = try Ctl.tempDir(self)
        let (src, dst1, dst2) = (dir + "/src", dir + "/d1", dir + "/d2")
        let first = try RingsideProcess("receive-1", ["receive", "--listen", "127.0.0.1:0", "--headless", "--control", dst1])
        guard let port1 = first.listeningPort() else { return XCTFail(first.transcript) }
        XCTAssertEqual(try Ctl.json(dst1, ["status"]).state, "waiting")
        let run = try RingsideProcess("run", ["run", "--guest", "desktop", "--headless", "--tracking", "ring", "--control", src])
        try Ctl.waitForGuest(src, run)

        // Slow enough to be watched: round 0 (about 4 MiB) takes seconds at 1 MiB/s (uncompressed:
        // compressed, the desktop's later rounds are small enough to converge before the test looks).
        let start = try Ctl.json(src, ["migrate", "127.0.0.1:\(port1)", "--max-bandwidth", "1M", "--migrate-compress", "off"])
        XCTAssertTrue(start.ok, "\(start.json) \(start.err)")
        let watched = try Ctl.waitForStatus(src, timeout: 120, "a pre-copy round is reported") { $0.migration?["round"] != nil }
        let m = watched.migration ?? [:]
        XCTAssertEqual(m["state"] as? String, "running")
        XCTAssertEqual(watched.state, "migrating")
        XCTAssertNotNil(m["pagesLeft"] as? Int, "\(m)")
        XCTAssertNotNil(m["bytesPerSecond"] as? Double, "\(m)")
        XCTAssertNotNil(m["expectedDowntimeMs"] as? Double, "\(m)")
        let refused = try Ctl.json(src, ["pause"])
        XCTAssertFalse(refused.ok)
        XCTAssertTrue(refused.error?.hasPrefix("a migration is in progress") == true, "\(refused.json)")

        XCTAssertTrue(try Ctl.json(src, ["cancel"]).ok)
        let cancelled = try Ctl.waitForStatus(src, "the migration ends cancelled") { $0.migration?["state"] as? String == "cancelled" }
        try Ctl.waitForStatus(src, "the guest runs on here") { $0.state == "running" && ($0.frames.first ?? 0) > (cancelled.frames.first ?? 0) }
        XCTAssertEqual(first.exitStatus(timeout: 60), 1, "the destination discards what it got: \(first.transcript)")
        XCTAssertTrue(run.err.contains("migration to 127.0.0.1:\(port1) failed, the guest keeps running here: cancelled"), run.transcript)

        let second = try RingsideProcess("receive-2", ["receive", "--listen", "127.0.0.1:0", "--headless", "--control", dst2])
        guard let port2 = second.listeningPort() else { return XCTFail(second.transcript) }
        XCTAssertTrue(try Ctl.json(src, ["migrate", "127.0.0.1:\(port2)"]).ok)
        XCTAssertEqual(run.exitStatus(timeout: 120), 0, run.transcript)
        XCTAssertTrue(run.out.contains("migrated to 127.0.0.1:\(port2)"), run.transcript)
        try Ctl.waitForGuest(dst2, second)
        let arrived = try Ctl.waitForStatus(dst2, "the guest runs at the destination") { $0.state == "running" }
        XCTAssertEqual(arrived.statusObject["image"] as? String, "desktop")
        XCTAssertEqual(try runRingside(["ctl", dst2, "quit"]).status, 0)
        XCTAssertEqual(second.exitStatus(timeout: 60), 0, second.transcript)
    }

    func testQuitEndsAReceiveThatIsStillWaiting() throws {
        let dir = try Ctl.tempDir(self)
        let socket = dir + "/d"
        let recv = try RingsideProcess("receive", ["receive", "--listen", "127.0.0.1:0", "--headless", "--control", socket])
        guard let port = recv.listeningPort() else { return XCTFail(recv.transcript) }
        let status = try Ctl.json(socket, ["status"])
        XCTAssertEqual(status.state, "waiting")
        XCTAssertEqual(status.statusObject["waiting"] as? String, "waiting for a migration on 127.0.0.1:\(port)",
                       "the port it listens on, not the 0 it was asked for: \(status.json)")
        let pause = try Ctl.json(socket, ["pause"])
        XCTAssertTrue(pause.error?.hasPrefix("no guest yet: waiting for a migration") == true, "\(pause.json)")
        XCTAssertTrue(try Ctl.json(socket, ["quit"]).ok)
        XCTAssertEqual(recv.exitStatus(timeout: 30), 1)
        XCTAssertNil(MigrationCheck.oneLineProblem(recv.err, containing: ["quit: no guest was received"]))
        XCTAssertFalse(FileManager.default.fileExists(atPath: socket))
    }
}
