@testable import Bench
import Foundation
import Machine
import TestSupport
import XCTest

/// The input latency probe on real KVM: a paced guest shows an event within about one frame
/// period of the push, never sooner than the push and never later than two frames.
final class InputLatencyProbeTests: XCTestCase {
    func testAPacedGuestShowsAnEventWithinAboutOneFrame() throws {
        var config = try testConfig("idle")
        config.guestHz = 60
        let r = try InputLatencyProbe.measure(system: try requireKVM(), config: config, label: "idle", samples: 30)
        XCTAssertEqual(r.samples, 30, "every push was matched to a doorbell")
        XCTAssertGreaterThanOrEqual(r.framesMin, 1)
        XCTAssertLessThanOrEqual(r.framesMax, 2)
        XCTAssertGreaterThan(r.p50Micros, 0)
        XCTAssertLessThan(r.p50Micros, 1.5e6 / 60, "pushes land at random phases of a 16.7 ms frame: the median wait is under a frame")
        XCTAssertLessThan(r.maxMicros, 3e6 / 60 + 20_000, "no push waits more than two frames (plus scheduling slack on 2 cores)")
        XCTAssertFalse(r.guestReadsInput, "idle does not read input: the probe consumed for it")
    }
}
