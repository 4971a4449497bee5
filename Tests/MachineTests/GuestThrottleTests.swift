@testable import Machine
import XCTest

/// Auto-converge's brake as a function over time: how long a slowed vCPU holds after a doorbell.
final class GuestThrottleTests: XCTestCase {
    func testASlowedPacedGuestHoldsForAStretchedPeriod() {
        var pacer = Pacer(hz: 50, start: 0) // 20 ms
        XCTAssertEqual(pacer.nextTick(now: 1_000_000), 20_000_000, "not slowed: the period")
        XCTAssertEqual(pacer.nextTick(now: 21_000_000, throttle: 50), 60_000_000, "slowed by 50%: twice the period")
        XCTAssertEqual(pacer.nextTick(now: 61_000_000, throttle: 75), 140_000_000, "slowed by 75%: four times")
        XCTAssertEqual(pacer.nextTick(now: 141_000_000), 160_000_000, "restored: the period again, from the last tick")
    }

    func testASlowedFreeRunningGuestIsHeldForItsShareOfTheFramesTime() {
        var pacer = Pacer(hz: 0, start: 0)
        XCTAssertNil(pacer.nextTick(now: 4_000_000), "not slowed: never held")
        // The frame ran 2 ms (from 4 ms to 6 ms): at 60%, held 3 ms, so it runs 40% of the time.
        XCTAssertEqual(pacer.nextTick(now: 6_000_000, throttle: 60), 9_000_000)
        // The next frame counts from the release at 9 ms.
        XCTAssertEqual(pacer.nextTick(now: 10_000_000, throttle: 90), 19_000_000)
        XCTAssertNil(pacer.nextTick(now: 20_000_000, throttle: 0), "restored: free-running again")
    }

    func testAFreeRunningHoldIsMeasuredFromAtMostTheLongestFrame() {
        var pacer = Pacer(hz: 0, start: 0)
        let longest = Pacer.longestThrottledFrame
        // Ten seconds since the last release (a pause, say): the hold is that of the longest frame.
        XCTAssertEqual(pacer.nextTick(now: 10_000_000_000, throttle: 50), 10_000_000_000 + longest)
    }

    func testTheThrottleIsClampedToItsRange() {
        let throttle = GuestThrottle()
        throttle.set(percent: 150)
        XCTAssertEqual(throttle.percent, GuestThrottle.maxPercent)
        throttle.set(percent: -3)
        XCTAssertEqual(throttle.percent, 0)
        var pacer = Pacer(hz: 100, start: 0)
        XCTAssertEqual(pacer.nextTick(now: 0, throttle: 1000), 1_000_000_000, "at 99%: a hundred periods")
    }
}
