import Foundation
import TestSupport
import XCTest

/// The CLI's main paths, run as a user would.
final class RunCommandTests: XCTestCase {

    func testGuestsListsEveryBuiltInGuest() throws {
        let r = try runRingside(["guests"])
        XCTAssertEqual(r.status, 0)
        for name in ["desktop", "terminal", "bounce", "plasma", "idle"] {
            XCTAssertTrue(r.out.contains("\n\(name) ") || r.out.hasPrefix("\(name) "), "\(name) listed")
        }
        XCTAssertFalse(r.out.contains("[image missing]"), r.out)
    }

    func testInfoReportsDirtyRingSupport() throws {
        try requireKVMDevice()
        let r = try runRingside(["info"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.contains("API version:                12"), r.out)
        XCTAssertTrue(r.out.contains("--tracking ring uses:"), r.out)
    }

    /// `--tracking auto` measures this host's write-fault cost once and keeps it for later
    /// processes of the boot: a second run leaves the stored measurement as it was (it did not
    /// measure again); a damaged file is measured again and replaced.
    func testAutoKeepsItsWriteFaultProbeForTheNextProcess() throws {
        try requireKVMDevice()
        let cache = try MigrationCheck.tempDir(self, "write-fault-cache")
        let env = ProcessInfo.processInfo.environment.merging(["XDG_CACHE_HOME": cache]) { $1 }
        let args = ["run", "--guest", "desktop", "--headless", "--frames", "2", "--width", "320", "--height", "200"]
        XCTAssertEqual(try runRingside(args, environment: env).status, 0)
        let dir = cache + "/ringside"
        let files = try FileManager.default.contentsOfDirectory(atPath: dir)
        XCTAssertEqual(files.count, 1, "one measurement, for the logging auto uses: \(files)")
        let file = dir + "/" + (files.first ?? "")
        let first = try String(contentsOfFile: file, encoding: .utf8)
        XCTAssertTrue(first.hasPrefix("ringside-write-fault 1\nboot "), first)
        XCTAssertEqual(try runRingside(args, environment: env).status, 0)
        XCTAssertEqual(try String(contentsOfFile: file, encoding: .utf8), first, "the second process used it")
        try "ringside-write-fault 1\ngarbage\n".write(toFile: file, atomically: true, encoding: .utf8)
        XCTAssertEqual(try runRingside(args, environment: env).status, 0)
        let third = try String(contentsOfFile: file, encoding: .utf8)
        XCTAssertTrue(third.hasPrefix("ringside-write-fault 1\nboot ") && third != first, "measured again: \(third)")
    }

    /// With the default tracking (auto), --stats prints each switch of method with the rule
    /// and the numbers behind it: plasma redraws every page from its first frame, so logging
    /// it costs the guest a write fault per page and auto goes to full repaint.
    func testStatsNamesEachSwitchOfAutoAndWhy() throws {
        try requireKVMDevice()
        let r = try runRingside(["run", "--guest", "plasma", "--headless", "--frames", "90", "--stats", "--width", "640", "--height", "480"])
        XCTAssertEqual(r.status, 0, r.err)
        let lines = r.out.split(separator: "\n").filter { $0.hasPrefix("auto: frame ") }
        XCTAssertFalse(lines.isEmpty, r.out)
        XCTAssertTrue(lines.first?.contains("to full repaint (unlogged): ") ?? false, r.out)
        XCTAssertNotNil(lines.first?.firstMatch(of: /write faults|frames\/s|logged sync cost/), r.out)
        let total = r.out.firstMatch(of: /total: .*auto: (logged|full), (\d+) switch/)
        XCTAssertEqual(total.map { Int($0.2) }, lines.count, "one line per switch: \(r.out)")
    }

    /// The default run (desktop, auto) does not leave logging for its boot frames and come
    /// back: auto's first estimate of an unlogged sync is a full copy from memory, not from a
    /// warm cache (a warm one was 2.5x too cheap here, and 2 of 4 runs switched twice). A host
    /// whose write faults are dear may rightly go unlogged once, and stay.
    func testTheDefaultRunDoesNotSwitchBackAndForthAtBoot() throws {
        try requireKVMDevice()
        for _ in 0..<3 {
            let r = try runRingside(["run", "--headless", "--seconds", "1.5", "--stats"])
            XCTAssertEqual(r.status, 0, r.err)
            let switches = r.out.split(separator: "\n").filter { $0.hasPrefix("auto: frame ") }
            XCTAssertLessThanOrEqual(switches.count, 1, r.out)
        }
    }

    func testRunReportsGuestFramesPerSecond() throws {
        try requireKVMDevice()
        let r = try runRingside(["run", "--guest", "desktop", "--headless", "--seconds", "1", "--width", "640", "--height", "480"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.contains("guest: desktop: 640x480"), "the guest's console line is shown: \(r.out)")
        // "guest frames/s: 59.9 over 1.00 s, 60 frames": paced at 60 Hz for about a second.
        let m = r.out.firstMatch(of: /guest frames\/s: ([0-9.]+) over ([0-9.]+) s, (\d+) frames/)
        XCTAssertNotNil(m, r.out)
        if let m, let rate = Double(m.1), let secs = Double(m.2), let frames = Int(m.3) {
            // Pacing is a ceiling: a loaded host may run the guest slower, never faster.
            XCTAssertGreaterThan(frames, 0, r.out)
            XCTAssertLessThanOrEqual(Double(frames), 60 * secs + 2, "paced at the default 60 Hz, never faster: \(r.out)")
            XCTAssertGreaterThanOrEqual(secs, 1, "it ran for the --seconds asked")
            XCTAssertEqual(Double(frames), rate * secs, accuracy: 2, "the rate is frames over seconds")
        }
    }

    func testStatsAndMigrationRoundsArePrinted() throws {
        try requireKVMDevice()
        let r = try runRingside(["run", "--guest", "bounce", "--headless", "--frames", "72", "--stats", "--migration-rounds", "300",
                                 "--width", "640", "--height", "480"])
        XCTAssertEqual(r.status, 0, r.err)
        // "total: 73 syncs, 1234 entries (0 duplicates, 1234 unique pages), 2000 dirty tiles, ..."
        let total = r.out.firstMatch(of: /total: (\d+) syncs, (\d+) entries \((\d+) duplicates, (\d+) unique pages\), (\d+) dirty tiles/)
        XCTAssertNotNil(total, r.out)
        if let t = total, let syncs = Int(t.1), let entries = Int(t.2), let unique = Int(t.4), let tiles = Int(t.5) {
            // A loaded host may merge doorbells into one sync, so only a lower bound of one.
            XCTAssertGreaterThan(syncs, 0, r.out)
            XCTAssertGreaterThan(unique, syncs, "bouncing sprites dirty pages every frame")
            XCTAssertGreaterThan(entries, syncs, "ring entries were harvested")
            XCTAssertGreaterThan(tiles, syncs)
        }
        XCTAssertNotNil(r.out.firstMatch(of: /stats: \d+ syncs/), r.out)
        // Round 0 of a new migration subscriber is the whole memory: 256 MiB = 65536 RAM pages.
        let round0 = r.out.firstMatch(of: /migration round 0: (\d+) pages; ram (\d+) \[[^\]]*\]; framebuffer (\d+)/)
        XCTAssertNotNil(round0, r.out)
        if let m = round0 { XCTAssertEqual(Int(m.2), 65536); XCTAssertEqual(Int(m.3), 32768, "every page of the framebuffer slot, reserved for the largest mode (7680x4320 in whole 2 MiB pages)") }
        let round1 = r.out.firstMatch(of: /migration round 1: (\d+) pages; ram (\d+)/)
        XCTAssertNotNil(round1, r.out)
        if let m = round1, let pages = Int(m.1) { XCTAssertLessThan(pages, 65536 / 4, "later rounds list only what changed") }
    }

    func testFramesStopsExactlyAtN() throws {
        try requireKVMDevice()
        let r = try runRingside(["run", "--guest", "pattern", "--headless", "--frames", "25", "--guest-hz", "0"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.contains(", 25 frames"), r.out)
    }

    func testCtrlCStopsTheGuestCleanly() throws {
        try requireKVMDevice()
        let p = try RingsideProcess("run", ["run", "--guest", "idle", "--headless"])
        // Interrupt only once the guest is running (its console line is out), not during start-up.
        XCTAssertTrue(p.waitForOutput("guest: idle:"), "the guest started: \(p.transcript)")
        p.signal(SIGINT)
        XCTAssertEqual(p.exitStatus(), 0, "Ctrl-C is a clean stop: \(p.transcript)")
        XCTAssertTrue(p.out.contains("guest frames/s:"), "the summary is still printed: \(p.transcript)")
    }
}
