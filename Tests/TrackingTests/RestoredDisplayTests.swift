import Display
import KVM
import Machine
import TestSupport
import Tracking
import XCTest

/// A session built from a snapshot shows the restored screen at its first sync (the pages
/// are VMM writes, delivered like any other) and keeps tracking from there.
final class RestoredDisplayTests: XCTestCase {
    func testARestoredSessionShowsTheSnapshotsScreenAtOnceAndTracksOn() throws {
        let system = try requireKVM()
        let caps = try HostCapabilities(system: system)
        var config = try testConfig("pattern", width: 320, height: 200, frames: 20)
        config.lockstep = true
        let plan = try TrackingPlan.make(mode: .ring, ringEntries: 4096, caps: caps, migration: false)
        let first = try TrackingSession(system: system, config: config, plan: plan, tile: TileSize(width: 64, height: 16), migration: false)
        first.machine.start()
        guard case .framesCompleted? = first.machine.waitForEnd() else { return XCTFail("the first run reaches frame 20") }
        let snapshot = try first.machine.snapshot()

        config.frameLimit = 40
        let second = try TrackingSession(system: system, config: config, plan: plan, tile: TileSize(width: 64, height: 16),
                                         migration: true, restoring: snapshot)
        let sink = second.makeDisplaySink(name: "after restore")
        try second.sync()
        second.read(sink) { display, _ in
            XCTAssertTrue(display.shadowMatchesGuest(), "the first sync brings the restored framebuffer into the shadow")
            XCTAssertEqual(display.shadow.pixel(x: 10, y: 7) & 0xFF_FFFF, patternPixel(x: 10, y: 7, frame: 20), "frame 20 is on screen")
        }
        second.machine.start()
        guard case .framesCompleted? = second.machine.waitForEnd() else { return XCTFail("the restored run reaches frame 40") }
        try second.sync()
        second.read(sink) { display, changed in
            XCTAssertFalse(changed.isEmpty)
            XCTAssertTrue(display.shadowMatchesGuest())
            XCTAssertEqual(display.shadow.pixel(x: 10, y: 7) & 0xFF_FFFF, patternPixel(x: 10, y: 7, frame: 40))
        }
    }
}
