import Foundation
import TestSupport
import XCTest

/// Ctrl+Alt+M in a real window (Xvfb, xdotool) starts the --migrate-to migration at once,
/// long before --migrate-after would.
final class WindowMigrateShortcutTests: XCTestCase {
    override class func tearDown() { XvfbScreen.stop() }

    func testCtrlAltMMigratesNow() throws {
        try MigrationCheck.requireKVMDevice()
        guard let xdotool = XvfbScreen.which("xdotool") else { throw XCTSkip("needs xdotool (apt-get install xdotool)") }
        let screen = try XvfbScreen.acquire()
        let dst = try RingsideProcess("receive", ["receive", "--listen", "127.0.0.1:0", "--headless", "--seconds", "5"])
        let port = try XCTUnwrap(dst.listeningPort(), dst.transcript)

        var env = ProcessInfo.processInfo.environment
        env["DISPLAY"] = screen.display
        let p = Process()
        p.executableURL = ringsideExecutable()
        p.arguments = ["run", "--guest", "desktop", "--width", "320", "--height", "200", "--seconds", "60",
                       "--migrate-to", "127.0.0.1:\(port)", "--migrate-after", "600"]
        p.environment = env
        let outFile = NSTemporaryDirectory() + "ringside-window-migrate-\(UUID().uuidString).log"
        FileManager.default.createFile(atPath: outFile, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: outFile) }
        p.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outFile))
        p.standardError = p.standardOutput
        try p.run()
        defer { if p.isRunning { p.terminate(); p.waitUntilExit() } }
        func log() -> String { (try? String(contentsOfFile: outFile, encoding: .utf8)) ?? "" }
        @discardableResult
        func xdo(_ args: [String]) throws -> String { try screen.xdotool(xdotool, args) }
        let id = try xdo(["search", "--sync", "--onlyvisible", "--name", "Ringside: desktop"]).split(separator: "\n").first.map(String.init) ?? ""
        XCTAssertFalse(id.isEmpty, "the window is on the X server: \(log())")
        _ = try xdo(["windowfocus", "--sync", id])
        Thread.sleep(forTimeInterval: 0.5)
        XCTAssertFalse(log().contains("migrating to"), "nothing before the shortcut: \(log())")
        let pressed = Date()
        _ = try xdo(["key", "ctrl+alt+m"])
        let end = Date(timeIntervalSinceNow: 30)
        while p.isRunning && Date() < end { Thread.sleep(forTimeInterval: 0.05) }
        XCTAssertFalse(p.isRunning, "the source ended after handing the guest over: \(log())")
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, log())
        XCTAssertTrue(log().contains("migrating to 127.0.0.1:\(port)\n"), log())
        XCTAssertTrue(log().contains("migrated to 127.0.0.1:\(port): "), log())
        XCTAssertLessThan(Date().timeIntervalSince(pressed), 30, "long before --migrate-after 600")
        XCTAssertEqual(dst.exitStatus(), 0, dst.transcript)
        XCTAssertTrue(dst.out.contains("migration received from "), dst.transcript)
    }
}
