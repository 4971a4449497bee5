@testable import Bench
import Foundation
import Machine
import TestSupport
import XCTest

/// The input latency probe on real KVM: a paced guest shows an event in the next frame or the
/// one after it (counted in frames: the guest takes its queue at the start of a frame), and
/// every push is matched. How many microseconds that is, is the benchmark's to report.
final class InputLatencyProbeTests: XCTestCase {
    func testAPacedGuestShowsAnEventWithinAboutOneFrame() throws {
        var config = try testConfig("idle")
        config.guestHz = 60
        let r = try InputLatencyProbe.measure(system: try requireKVM(), config: config, label: "idle", samples: 30)
        XCTAssertEqual(r.samples, 30, "every push was matched to a doorbell")
        XCTAssertGreaterThanOrEqual(r.framesMin, 1)
        XCTAssertLessThanOrEqual(r.framesMax, 2)
        XCTAssertGreaterThan(r.p50Micros, 0)
        XCTAssertGreaterThanOrEqual(r.maxMicros, r.p50Micros)
        XCTAssertFalse(r.guestReadsInput, "idle does not read input: the probe consumed for it")
    }
}
