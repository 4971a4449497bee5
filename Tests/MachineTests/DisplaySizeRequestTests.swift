import KVM
import Machine
import TestSupport
import XCTest

/// The window asks, the guest answers: a display-size event reaches a guest that announced
/// RS_GUEST_FOLLOWS_DISPLAY_SIZE, and it sets that mode through DISPI.
final class DisplaySizeRequestTests: XCTestCase {
    func machine(args: String) throws -> Machine {
        var config = try testConfig("modes", args: args, width: 640, height: 480)
        config.guestHz = 200
        config.maxMode = (1920, 1080)
        let m = try Machine(system: try requireKVM(), config: config)
        m.start()
        addTeardownBlock { m.stopAndWait() }
        return m
    }

    func testAFollowingGuestSetsTheSizeTheWindowAsksFor() throws {
        let m = try machine(args: "follow=1")
        waitFor("the guest announces that it follows display-size requests") { m.input.guestFollowsDisplaySize }
        XCTAssertEqual(m.askForDisplaySize(width: 1024, height: 600), DisplayMode(width: 1024, height: 600))
        waitFor("the guest set 1024x600") { m.displayMode.mode == DisplayMode(width: 1024, height: 600) }
        XCTAssertNil(m.askForDisplaySize(width: 1024, height: 600), "nothing to ask for: the guest has that mode")
        XCTAssertEqual(m.askForDisplaySize(width: 9000, height: 20), DisplayMode(width: 1920, height: 64), "clamped to 64x64 ... the largest mode")
        waitFor("the guest set 1920x64") { m.displayMode.mode == DisplayMode(width: 1920, height: 64) }
        XCTAssertEqual(m.displayMode.serial, 2)
    }

    func testAGuestThatDoesNotFollowIsNotAsked() throws {
        let m = try machine(args: "")
        waitFor("the guest runs") { m.framesCompleted(cpu: 0) > 3 }
        XCTAssertFalse(m.input.guestFollowsDisplaySize)
        XCTAssertNil(m.askForDisplaySize(width: 1024, height: 600))
        XCTAssertTrue(m.input.waitingEvents.isEmpty)
        m.waitForFrames(m.framesCompleted(cpu: 0) + 5)
        XCTAssertEqual(m.displayMode.mode, DisplayMode(width: 640, height: 480))
    }
}
