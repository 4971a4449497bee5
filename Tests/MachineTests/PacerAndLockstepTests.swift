@testable import Machine
import XCTest

/// Pacing as a function over time: the tick a vCPU holds until after each doorbell.
final class PacerTests: XCTestCase {
    func testAPacedVCPUHoldsUntilEachTickInTurn() {
        var pacer = Pacer(hz: 50, start: 1_000) // 20 ms
        XCTAssertEqual(pacer.period, 20_000_000)
        XCTAssertEqual(pacer.nextTick(now: 1_000 + 1_000_000), 1_000 + 20_000_000, "a quick frame waits for its tick")
        XCTAssertEqual(pacer.nextTick(now: 1_000 + 39_000_000), 1_000 + 40_000_000, "ticks follow the first, not the doorbells")
        XCTAssertEqual(pacer.nextTick(now: 1_000 + 61_000_000), 1_000 + 60_000_000,
                       "a frame late by less than a period keeps the schedule (the hold returns at once)")
    }

    func testAVCPUFarBehindStartsAgainFromNowInsteadOfCatchingUpInABurst() {
        var pacer = Pacer(hz: 100, start: 0) // 10 ms
        XCTAssertEqual(pacer.nextTick(now: 55_000_000), 55_000_000, "more than a period behind: the next tick is now")
        XCTAssertEqual(pacer.nextTick(now: 56_000_000), 65_000_000, "and the schedule continues from there")
    }

    func testAFreeRunningGuestIsNeverHeldAndItsTickStaysZero() {
        var pacer = Pacer(hz: 0, start: 0)
        XCTAssertEqual(pacer.period, 0)
        XCTAssertNil(pacer.nextTick(now: 123))
        XCTAssertEqual(Pacer.tick(uptime: 5_000_000_000, period: 0), 0)
        XCTAssertEqual(Pacer.tick(uptime: 5_000_000_000, period: Pacer.period(hz: 60)), 300)
    }
}

/// Lockstep's bookkeeping: who waits at a doorbell, and who releases the frame.
final class LockstepBarrierTests: XCTestCase {
    func testTheLastVCPUToArriveReleasesTheFrameOnce() {
        var b = LockstepBarrier(frameCounts: [0, 0])
        XCTAssertEqual(b.arrive(cpu: 0, frame: 1), .wait)
        XCTAssertEqual(b.arrive(cpu: 1, frame: 1), .release(runCallback: true))
        XCTAssertEqual(b.released, 0, "released only once the releaser is done with allFramesDone")
        b.release(1)
        XCTAssertEqual(b.released, 1)
        XCTAssertEqual(b.arrive(cpu: 1, frame: 2), .wait, "vCPU 1 ahead waits for vCPU 0")
        XCTAssertEqual(b.arrive(cpu: 0, frame: 2), .release(runCallback: true))
    }

    func testAFrameClaimedByOneVCPUIsNotClaimedAgain() {
        var b = LockstepBarrier(frameCounts: [0, 0, 0])
        XCTAssertEqual(b.arrive(cpu: 0, frame: 1), .wait)
        XCTAssertEqual(b.arrive(cpu: 1, frame: 1), .wait)
        XCTAssertEqual(b.arrive(cpu: 2, frame: 1), .release(runCallback: true))
        XCTAssertEqual(b.arrive(cpu: 2, frame: 1), .wait, "a second arrival at a claimed frame waits for its release")
    }

    func testUnevenRestoredCountsCatchUpWithoutCallbacksThenMeet() {
        var b = LockstepBarrier(frameCounts: [5, 2])
        XCTAssertEqual(b.released, 2, "vCPU 0, ahead, starts held at its doorbell")
        for frame in 3...4 {
            XCTAssertEqual(b.arrive(cpu: 1, frame: frame), .release(runCallback: false), "catch-up frame \(frame)")
            b.release(frame)
        }
        XCTAssertEqual(b.arrive(cpu: 1, frame: 5), .release(runCallback: false),
                       "frame 5: every vCPU is there, but vCPU 0 may have been stopped inside frame 6, so memory is not frame 5")
        b.release(5)
        XCTAssertEqual(b.arrive(cpu: 0, frame: 6), .wait)
        XCTAssertEqual(b.arrive(cpu: 1, frame: 6), .release(runCallback: true), "frame 6 (max + 1) is the first shown")
    }
}
