import Foundation
import KVM
import Machine
import TestSupport
import XCTest

/// One restore path (`Machine.restore(_:)`): a migration destination's device state, checked
/// whole before any of it is applied, and only before the machine starts.
final class DeviceStateRestoreTests: XCTestCase {
    func testADeviceStateThatDoesNotFitChangesNothing() throws {
        let m = try Machine(system: try requireKVM(), config: try testConfig("idle", width: 320, height: 200))
        let hour: UInt64 = 3_600_000_000_000
        let bad = MachineDeviceState(frameCounts: [7], uptimeNanos: hour, consoleUnfinished: [Array("from the source".utf8)],
                                     displayMode: DisplayMode(width: 4000, height: 100))
        XCTAssertThrowsError(try m.restore(bad)) { XCTAssertTrue("\($0)".contains("the source's display mode 4000x100"), "\($0)") }
        XCTAssertEqual(m.frameCounts, [0], "the frame counts were not applied")
        XCTAssertEqual(m.consoleUnfinished, [nil], "nor the console")
        XCTAssertLessThan(m.uptimeNanos, hour, "nor the clock")
        XCTAssertEqual(m.displayMode.serial, 0)
        XCTAssertThrowsError(try m.restore(MachineDeviceState(frameCounts: [1, 2]))) { XCTAssertTrue("\($0)".contains("2 frame counts for 1 vCPUs"), "\($0)") }

        var good = bad
        good.displayMode = DisplayMode(width: 256, height: 128)
        try m.restore(good)
        XCTAssertEqual(m.frameCounts, [7])
        XCTAssertEqual(m.consoleUnfinished, ["from the source"])
        XCTAssertGreaterThanOrEqual(m.uptimeNanos, hour)
        XCTAssertEqual(m.displayMode.mode, DisplayMode(width: 256, height: 128))
        XCTAssertEqual(m.displayMode.serial, 1, "a restored mode counts as a mode set, so the display follows it")
    }

    func testTheDeviceStateIsRefusedOnceTheMachineHasStarted() throws {
        let m = try Machine(system: try requireKVM(), config: try testConfig("idle"))
        m.start()
        m.stop()
        m.wait()
        XCTAssertThrowsError(try m.restore(MachineDeviceState(frameCounts: [3]))) {
            XCTAssertTrue("\($0)".contains("can only be restored before the machine starts"), "\($0)")
        }
        XCTAssertThrowsError(try m.restoreFrameCounts([3]), "the older single-part form takes the same path")
    }
}
