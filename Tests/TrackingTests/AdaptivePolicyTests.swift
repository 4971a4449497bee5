@testable import Tracking
import XCTest

/// The auto policy against synthetic cost profiles: no KVM, just the decisions.
final class AdaptivePolicyTests: XCTestCase {
    /// A workload phase: host cost of a logged sync, tiles it repaints, tiles a compare finds.
    struct Phase { var loggedNanos: Double; var loggedTiles: Int; var changedTiles: Int; var syncs: Int }

    /// Runs phases, feeding the policy what each method would cost; returns the syncs at
    /// which it switched, and to what.
    func run(_ phases: [Phase], fullNanos: Double = 250_000) -> [(sync: Int, to: DisplayMethod)] {
        var p = AdaptivePolicy(fullCopyNanos: fullNanos)
        var switches: [(Int, DisplayMethod)] = []
        var n = 0
        for phase in phases {
            for _ in 0..<phase.syncs {
                let probe = p.wantsProbe
                let d: AdaptivePolicy.Decision
                switch p.method {
                case .logged: d = p.observe(syncNanos: phase.loggedNanos, tiles: phase.loggedTiles)
                case .full: d = p.observe(syncNanos: probe ? fullNanos * 2 : fullNanos, tiles: probe ? phase.changedTiles : 2040, probe: probe)
                }
                if case .switchTo(let m) = d { switches.append((n, m)) }
                n += 1
            }
        }
        return switches
    }

    func testADenseScreenSwitchesToFullWithinThreeSyncsAndStays() {
        let s = run([Phase(loggedNanos: 490_000, loggedTiles: 2040, changedTiles: 2040, syncs: 2000)])
        XCTAssertEqual(s.count, 1, "one switch, no flapping: \(s)")
        XCTAssertEqual(s.first?.sync, 2, "the third over-budget sync switches")
        XCTAssertEqual(s.first?.to, .full)
    }

    func testASparseScreenStaysLogged() {
        XCTAssertTrue(run([Phase(loggedNanos: 18_000, loggedTiles: 86, changedTiles: 4, syncs: 5000)]).isEmpty)
    }

    func testNoiseUnderTheMarginNeverSwitches() {
        var p = AdaptivePolicy(fullCopyNanos: 250_000)
        for i in 0..<3000 {
            // Two syncs over budget, then one under: never three in a row.
            let cost = i % 3 == 2 ? 200_000.0 : 300_000.0
            XCTAssertEqual(p.observe(syncNanos: cost, tiles: 1800), .stay, "sync \(i)")
        }
    }

    /// Alternating phases: dense animation, then a quiet desktop, three times. Each change is
    /// followed by exactly one switch, dense onset within 3 syncs, calm within the probe cap.
    func testAlternatingPhasesSwitchOncePerChange() {
        let dense = Phase(loggedNanos: 490_000, loggedTiles: 2040, changedTiles: 2040, syncs: 300)
        let calm = Phase(loggedNanos: 18_000, loggedTiles: 86, changedTiles: 20, syncs: 300)
        let s = run([dense, calm, dense, calm, dense, calm])
        XCTAssertEqual(s.map(\.to), [.full, .logged, .full, .logged, .full, .logged], "\(s)")
        for (i, sw) in s.enumerated() {
            let phaseStart = i * 300
            XCTAssertGreaterThanOrEqual(sw.sync, phaseStart)
            let limit = sw.to == .full ? 3 : AdaptivePolicy(fullCopyNanos: 1).maxProbeEvery + 1
            XCTAssertLessThan(sw.sync - phaseStart, limit, "switch \(i) to \(sw.to) came \(sw.sync - phaseStart) syncs after the change")
        }
    }

    /// A screen whose logged repaint covers twice the tiles that really change (a scrolling
    /// terminal: every page dirty, half the pixels the same): a probe may be fooled once, then
    /// the learned scale keeps it in full.
    func testAProbeFooledByPageGranularityLearnsAndStops() {
        let s = run([Phase(loggedNanos: 420_000, loggedTiles: 2040, changedTiles: 150, syncs: 3000)])
        XCTAssertLessThanOrEqual(s.count, 3, "to full, at most one wrong way back, and full again: \(s)")
        XCTAssertEqual(s.last?.to, .full)
    }

    func testAMigrationSubscriberPinsLogging() {
        var p = AdaptivePolicy(fullCopyNanos: 250_000)
        for _ in 0..<3 { _ = p.observe(syncNanos: 500_000, tiles: 2040) }
        XCTAssertEqual(p.method, .full)
        XCTAssertEqual(p.pinLogged(), .switchTo(.logged))
        XCTAssertEqual(p.pinLogged(), .stay)
    }

    /// The host decides: the same workload on a host whose full copy is cheap switches, on one
    /// where it is dear (a slow memcpy) it does not. Nothing is tuned to one machine.
    func testTheSameWorkloadDependsOnTheHostsMeasuredCosts() {
        let bounce = Phase(loggedNanos: 130_000, loggedTiles: 1059, changedTiles: 76, syncs: 500)
        XCTAssertEqual(run([bounce], fullNanos: 100_000).first?.to, .full, "a host with a fast full copy")
        XCTAssertTrue(run([bounce], fullNanos: 240_000).isEmpty, "a host with a slow one")
    }
}
