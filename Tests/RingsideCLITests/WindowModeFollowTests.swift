import Foundation
import TestSupport
import XCTest

/// The window asks, the guest answers, in a real window on a private Xvfb: resizing the
/// window (with xdotool, as a window manager would) makes a following guest set a mode of
/// the window's size; with --fixed-mode it does not. The window keeps the size it was given.
final class WindowModeFollowTests: XCTestCase {
    override class func tearDown() { XvfbScreen.stop() }

    func run(fixedMode: Bool) throws -> (log: String, windowSize: String) {
        guard FileManager.default.fileExists(atPath: "/dev/kvm") else { throw XCTSkip("needs /dev/kvm") }
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/xdotool") else { throw XCTSkip("needs xdotool (apt-get install xdotool)") }
        let screen = try XvfbScreen.acquire()
        var env = ProcessInfo.processInfo.environment
        env["DISPLAY"] = screen.display
        let title = "Ringside: modes"
        let p = Process()
        p.executableURL = ringsideExecutable()
        p.arguments = ["run", "--guest", "modes", "--args", "follow=1", "--width", "640", "--height", "480", "--seconds", "5", "--stats"]
            + (fixedMode ? ["--fixed-mode"] : [])
        p.environment = env
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        Thread.sleep(forTimeInterval: 2)
        let resized = try runProgram(URL(fileURLWithPath: "/usr/bin/xdotool"), ["search", "--name", title, "windowsize", "%@", "800", "500"], environment: env)
        XCTAssertEqual(resized.status, 0, resized.err)
        Thread.sleep(forTimeInterval: 1.5)
        let geometry = try runProgram(URL(fileURLWithPath: "/usr/bin/xdotool"), ["search", "--name", title, "getwindowgeometry"], environment: env)
        p.waitUntilExit()
        let log = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(p.terminationStatus, 0, log)
        XCTAssertFalse(log.contains("running headless"), "a window was opened: \(log)")
        return (log, geometry.out)
    }

    func testAResizedWindowMakesAFollowingGuestSetThatMode() throws {
        let (log, geometry) = try run(fixedMode: false)
        XCTAssertTrue(log.contains("mode sets: 1, from the DISPI ENABLE write"), log)
        XCTAssertTrue(log.contains("now 800x500"), log)
        XCTAssertTrue(geometry.contains("Geometry: 800x500"), "the window keeps the size it was given: \(geometry)")
    }

    func testFixedModeKeepsTheGuestsMode() throws {
        let (log, _) = try run(fixedMode: true)
        XCTAssertFalse(log.contains("from the DISPI ENABLE write"), "no mode set: \(log)")
        XCTAssertFalse(log.contains("now 800x500"), log)
        XCTAssertTrue(log.contains("guest: modes: 640x480"), "the guest ran: \(log)")
    }
}
