import Foundation
import TestSupport
import XCTest

/// Ctrl+Alt+M in a real window (Xvfb, xdotool) starts the --migrate-to migration at once,
/// long before --migrate-after would: the run must end within its 300 s deadline, half of
/// --migrate-after 600.
final class WindowMigrateShortcutTests: XCTestCase {
    override class func tearDown() { XvfbScreen.stop() }

    func testCtrlAltMMigratesNow() throws {
        try MigrationCheck.requireKVMDevice()
        let dst = try RingsideProcess("receive", ["receive", "--listen", "127.0.0.1:0", "--headless", "--seconds", "1"])
        let port = try XCTUnwrap(dst.listeningPort(), dst.transcript)

        let run = try WindowRun(["--guest", "desktop", "--width", "320", "--height", "200",
                                 "--migrate-to", "127.0.0.1:\(port)", "--migrate-after", "600"], title: "Ringside: desktop")
        XCTAssertFalse(run.log().contains("migrating to"), "nothing before the shortcut: \(run.log())")
        try run.xdo(["key", "ctrl+alt+m"])
        XCTAssertEqual(run.exitStatus(timeout: 300), 0, "the source ended after handing the guest over: \(run.log())")
        let log = run.log()
        XCTAssertTrue(log.contains("migrating to 127.0.0.1:\(port)\n"), log)
        XCTAssertTrue(log.contains("migrated to 127.0.0.1:\(port): "), log)
        XCTAssertEqual(dst.exitStatus(), 0, dst.transcript)
        XCTAssertTrue(dst.out.contains("migration received from "), dst.transcript)
    }
}
