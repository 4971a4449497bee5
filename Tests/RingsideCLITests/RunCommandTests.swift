import Foundation
import TestSupport
import XCTest

/// The CLI's main paths, run as a user would.
final class RunCommandTests: XCTestCase {
    func requireKVMDevice() throws {
        guard FileManager.default.fileExists(atPath: "/dev/kvm") else { throw XCTSkip("needs /dev/kvm") }
    }

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

    func testRunReportsGuestFramesPerSecond() throws {
        try requireKVMDevice()
        let r = try runRingside(["run", "--guest", "desktop", "--headless", "--seconds", "1", "--width", "640", "--height", "480"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.contains("guest: desktop: 640x480"), "the guest's console line is shown: \(r.out)")
        XCTAssertTrue(r.out.contains("guest frames/s:"), r.out)
    }

    func testStatsAndMigrationRoundsArePrinted() throws {
        try requireKVMDevice()
        let r = try runRingside(["run", "--guest", "bounce", "--headless", "--seconds", "1.2", "--stats", "--migration-rounds", "300",
                                 "--width", "640", "--height", "480"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.contains("stats: "), r.out)
        XCTAssertTrue(r.out.contains("total: "), r.out)
        XCTAssertTrue(r.out.contains("migration round 0:") && r.out.contains("framebuffer"), r.out)
    }

    func testFramesStopsExactlyAtN() throws {
        try requireKVMDevice()
        let r = try runRingside(["run", "--guest", "pattern", "--headless", "--frames", "25", "--guest-hz", "0"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.contains(", 25 frames"), r.out)
    }

    func testCtrlCStopsTheGuestCleanly() throws {
        try requireKVMDevice()
        let p = Process()
        p.executableURL = ringsideExecutable()
        p.arguments = ["run", "--guest", "idle", "--headless"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = Pipe()
        try p.run()
        // Interrupt only once the guest is running (its console line is out), not during start-up.
        var text = ""
        let deadline = Date(timeIntervalSinceNow: 30)
        while !text.contains("guest: idle:") && Date() < deadline {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        XCTAssertTrue(text.contains("guest: idle:"), "the guest started: \(text)")
        usleep(200_000)
        kill(p.processIdentifier, SIGINT)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, "Ctrl-C is a clean stop")
        text += String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertTrue(text.contains("guest frames/s:"), "the summary is still printed: \(text)")
    }
}
