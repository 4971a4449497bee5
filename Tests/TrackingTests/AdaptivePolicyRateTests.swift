import Foundation
@testable import Tracking
import XCTest

/// The auto policy's rate rules against synthetic guests and refreshers (the guest's frame
/// rate, exploration, stalls): no KVM, just the decisions.
extension AdaptivePolicyTests {
    /// A refresher syncing back to back (every 200 us): each logged sync sees a page or none,
    /// so logging looks cheap per sync, but the guest draws 100 frames/s logged (each reset
    /// re-protects the pages it draws) against 1000 unlogged. After its first rate window
    /// the policy tries unlogged, measures the difference, and stays unlogged.
    func testARefresherThatStarvesTheGuestLoggedIsFoundByTheRates() {
        var p = AdaptivePolicy(fullCopyNanos: 400_000, faultNanos: 9_000)
        var unloggedSyncs = 0, loggedSyncs = 0
        var unloggedTime = 0.0, loggedTime = 0.0
        while unloggedTime + loggedTime < 5e9 {
            if p.method == .logged {
                loggedSyncs += 1
                loggedTime += 200_000
                _ = p.observe(syncNanos: 20_000, tiles: loggedSyncs % 5 == 0 ? 2 : 0, pages: loggedSyncs % 5 == 0 ? 1 : 0,
                              intervalNanos: 200_000, guestFrames: loggedSyncs % 50 == 0 ? 1 : 0)
            } else {
                unloggedSyncs += 1
                unloggedTime += 600_000
                _ = p.observe(syncNanos: 400_000, tiles: 4, pages: 4, intervalNanos: 600_000, guestFrames: unloggedSyncs % 5 < 3 ? 1 : 0)
            }
        }
        XCTAssertGreaterThan(unloggedTime / (unloggedTime + loggedTime), 0.9, "unlogged nearly all the time")
    }

    /// Under load a fault can cost far more than the probe measured: the model says logging
    /// is cheap, but the guest draws 300 frames/s logged against 7000 unlogged. The measured
    /// rates decide: unlogged at the first logged window after a return, then a hold-off
    /// that doubles, so the wrong returns take a shrinking share of the time.
    func testAGuestMeasuredSlowerLoggedStaysUnloggedWithADoublingHoldOff() {
        var p = AdaptivePolicy(fullCopyNanos: 300_000, faultNanos: 1_000)
        let interval = 1_000_000.0 // 1 ms between syncs
        var loggedSyncs = 0, switches = 0
        for _ in 0..<20_000 { // 20 s
            let d: AdaptivePolicy.Decision
            if p.method == .logged {
                loggedSyncs += 1
                // 0.3 frames a ms logged (300 fps), cheap by the model: 20 us, 4 pages.
                d = p.observe(syncNanos: 20_000, tiles: 8, pages: 4, intervalNanos: interval, guestFrames: loggedSyncs % 10 < 3 ? 1 : 0)
            } else {
                d = p.observe(syncNanos: 300_000, tiles: 8, pages: 4, intervalNanos: interval, guestFrames: 7)
            }
            if d != .stay { switches += 1 }
        }
        XCTAssertLessThan(Double(loggedSyncs) / 20_000, 0.1, "logged at most a tenth of the time (\(loggedSyncs) ms)")
        XCTAssertLessThan(switches, 30, "the hold-off doubles: few switches in 20 s (\(switches))")
        XCTAssertGreaterThan(switches, 2, "it did try logging again")
    }

    /// A paced guest draws as many frames either way, and with one sync a frame (or fewer
    /// syncs than frames) no frame is reset while it is drawn: the faults the cost rule counts
    /// are all logging costs it, so the unlogged rate is never explored and it stays logged.
    func testAPacedGuestIsNeverExplored() {
        for (interval, framesPerSync) in [(16_666_667.0, 1), (8_333_333, 1), (16_666_667, 2)] {
            var p = AdaptivePolicy(fullCopyNanos: 300_000, faultNanos: 1_000)
            for _ in 0..<6_000 { // 100 s at 60 Hz
                XCTAssertEqual(p.observe(syncNanos: 20_000, tiles: 8, pages: 4, intervalNanos: interval, guestFrames: framesPerSync), .stay)
            }
            XCTAssertEqual(p.explorations, 0)
        }
    }

    /// A display at 144 Hz over a guest paced at 60 Hz: 2.4 syncs a frame, so it is explored,
    /// finds the same rate both ways, and each exploration that finds nothing doubles the wait
    /// for the next (20, 40, 80, 160 s at most): 6 in 10 minutes, each a few frames long.
    func testExplorationsThatFindNothingBecomeRarer() {
        var p = AdaptivePolicy(fullCopyNanos: 300_000, faultNanos: 1_000)
        var unlogged = 0, switches = 0
        let hz = 144.0, seconds = 600.0
        for n in 0..<Int(hz * seconds) {
            // The guest's frame completes at the syncs where floor(n * 60 / 144) steps.
            let frames = (n + 1) * 60 / 144 - n * 60 / 144
            if p.method == .unlogged { unlogged += 1 }
            let d = p.method == .logged ? p.observe(syncNanos: 20_000, tiles: 8, pages: 4, intervalNanos: 1e9 / hz, guestFrames: frames)
                : p.observe(syncNanos: 300_000, tiles: 8, pages: 4, intervalNanos: 1e9 / hz, guestFrames: frames)
            if d != .stay { switches += 1 }
        }
        XCTAssertEqual(p.explorations, 6, "at 0.1, 20, 60, 140, 300 and 460 s")
        XCTAssertEqual(switches, 2 * p.explorations)
        XCTAssertLessThanOrEqual(unlogged, p.explorations * 12, "each one a few frames (at 2.4 syncs a frame) long")
    }

    /// Idle and desktop in lockstep (one sync per guest frame) on a quiet host of either kind
    /// the issue names: no switch at all for idle, none for desktop on the 2 us host, and one
    /// for desktop on the 29 us host (the cost rule: 35 faults a frame cost over a full copy).
    func testIdleAndDesktopInLockstepNeverSwitch() {
        for (phase, fault, expected) in [(Phase(loggedNanos: 6_000, loggedTiles: 0, pages: 0, changedPages: 0, syncs: 0), Self.cheapFaults, 0),
                                         (Phase(loggedNanos: 6_000, loggedTiles: 0, pages: 0, changedPages: 0, syncs: 0), Self.dearFaults, 0),
                                         (Self.desktop, Self.cheapFaults, 0), (Self.desktop, Self.dearFaults, 1)] {
            var p = AdaptivePolicy(fullCopyNanos: 800_000, faultNanos: fault)
            var switches = 0
            for _ in 0..<4000 {
                // Lockstep at 3000 frames/s logged (the unlogged sync is slower: a full copy).
                let d = p.method == .logged
                    ? p.observe(syncNanos: phase.loggedNanos, tiles: phase.loggedTiles, pages: phase.pages, intervalNanos: 330_000, guestFrames: 1)
                    : p.observe(syncNanos: 800_000, tiles: phase.loggedTiles, pages: phase.changedPages, intervalNanos: 1_100_000, guestFrames: 1)
                if d != .stay { switches += 1 }
            }
            XCTAssertEqual(switches, expected, "\(phase.pages) pages, fault \(fault)")
            XCTAssertEqual(p.explorations, 0)
        }
    }

    /// The bench's cells take turns: between two turns the guest is held (seconds) while other
    /// cells run, and a loaded host stalls a sync now and then (50 ms). Neither is a slow
    /// logged window: the intervals are stalls, left out of the rates; nor is a sync whose host
    /// time a stall inflated (a few pages, 3 ms) over budget.
    func testHostStallsAndHeldTurnsCauseNoSwitch() {
        var p = AdaptivePolicy(fullCopyNanos: 800_000, faultNanos: Self.cheapFaults)
        var switches = 0
        for n in 0..<20_000 {
            let interval: Double = n % 997 == 500 ? 50e6 : n % 5000 == 4999 ? 2e9 : 300_000
            let syncNanos: Double = n % 1013 == 7 ? 3e6 : 40_000
            let d = p.method == .logged
                ? p.observe(syncNanos: syncNanos, tiles: 84, pages: 35, intervalNanos: interval, guestFrames: 1)
                : p.observe(syncNanos: 800_000, tiles: 84, pages: 35, intervalNanos: interval, guestFrames: 1)
            if d != .stay { switches += 1 }
        }
        XCTAssertEqual(switches, 0)
        XCTAssertGreaterThanOrEqual(p.stalls, 20 + 3)
    }

    /// A free-running guest with a back-to-back refresher, where an unlogged rate is known:
    /// a 50 ms stall inside a logged window (the guest drew nothing in it) does not make the
    /// window slow; logging keeps up otherwise, so the method stays logged.
    func testAStallInsideALoggedWindowDoesNotSwitchToUnlogged() {
        var p = AdaptivePolicy(fullCopyNanos: 300_000, faultNanos: 1_000)
        var n = 0, switches: [(Int, DisplayMethod)] = []
        // 1 ms between syncs, a frame every 3 syncs either way: explored at the first window,
        // then logged (it keeps up). Then one 50 ms stall without a frame every 100 syncs.
        while n < 3000 {
            let stall = n > 200 && n % 100 == 0
            let frames = stall ? 0 : n % 3 == 0 ? 1 : 0
            let d = p.method == .logged
                ? p.observe(syncNanos: 20_000, tiles: 8, pages: 4, intervalNanos: stall ? 50e6 : 1e6, guestFrames: frames)
                : p.observe(syncNanos: 300_000, tiles: 8, pages: 4, intervalNanos: stall ? 50e6 : 1e6, guestFrames: frames)
            if case .switchTo(let m) = d { switches.append((n, m)) }
            n += 1
        }
        XCTAssertEqual(switches.map(\.1), [.unlogged, .logged], "one exploration at the start, no switch for a stall: \(switches)")
        XCTAssertLessThan(switches.last?.0 ?? .max, 40)
    }
}
