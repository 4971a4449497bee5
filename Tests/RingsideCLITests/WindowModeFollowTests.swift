import Foundation
import TestSupport
import XCTest

/// The window asks, the guest answers, in a real window on a private Xvfb: resizing the
/// window (with xdotool, as a window manager would) makes a following guest set a mode of
/// the window's size; with --fixed-mode it does not. The window keeps the size it was given.
final class WindowModeFollowTests: XCTestCase {
    override class func tearDown() { XvfbScreen.stop() }

    /// Resizes the window, then waits for the guest's mode set (following), or (fixed) for two
    /// of --stats' once-a-second lines after the resize: the window asks a following guest
    /// once the size has held for a quarter of a second, so a second and more with no ask
    /// shows it was not going to.
    func run(fixedMode: Bool) throws -> (log: String, windowSize: String) {
        let run = try WindowRun(["--guest", "modes", "--args", "follow=1", "--width", "640", "--height", "480", "--stats"]
                                + (fixedMode ? ["--fixed-mode"] : []), title: "Ringside: modes")
        let statsBefore = run.log().components(separatedBy: "stats: ").count
        try run.xdo(["windowsize", run.id, "800", "500"])
        if fixedMode {
            XCTAssertTrue(poll(timeout: 120) { run.log().components(separatedBy: "stats: ").count >= statsBefore + 2 }, run.log())
        } else {
            XCTAssertTrue(run.waitForLog("now 800x500"), "the guest set the window's size: \(run.log())")
        }
        let geometry = try run.xdo(["getwindowgeometry", run.id])
        XCTAssertEqual(try run.quit(), 0, run.log())
        let log = run.log()
        XCTAssertFalse(log.contains("running headless"), "a window was opened: \(log)")
        return (log, geometry)
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
